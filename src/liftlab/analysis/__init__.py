"""Metric definitions, the one-scan results query and the result document.

``definition`` validates what a metric measures; ``spec`` holds an experiment as plain values;
``query`` builds the SQL and parameters (never runs them); ``results`` reads the rows back
into sufficient statistics; ``report`` turns those into tests, verdicts and the document.
Only ``liftlab.stats``, pydantic and the standard library are imported (docs/metrics.md).
"""
