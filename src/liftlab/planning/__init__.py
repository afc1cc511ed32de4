"""Planning experiments: the power question as the API, the CLI and the pages ask it.

``questions`` resolves a question's baseline (typed in, or read from the event store for one
of the environment's metrics) and answers it with ``liftlab.analysis.power``; ``views`` is the
``POST /api/v1/environments/{key}/power/`` endpoint. No models: nothing here is stored.
"""
