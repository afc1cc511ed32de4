"""ASGI entry point used by ``liftlab serve`` (uvicorn): Django behind ``WholeRequests``.

``WholeRequests`` (liftlab.serving.buffering) reads each request whole in the event loop,
within the size limits, then runs Django on one of ``LIFTLAB_THREADS`` threads (default 8;
``liftlab serve --threads`` sets it). Django's middleware chain runs synchronously there, in
one thread hop (liftlab.serving.handler).
"""

import os
import warnings

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liftlab.settings")
django.setup(set_prefix=False)  # as django.core.asgi.get_asgi_application does
# WhiteNoise answers with a FileResponse over a sync file iterator, which Django's ASGI handler
# reads whole in a thread (the static files are a few kB) and warns about each time.
warnings.filterwarnings("ignore", "StreamingHttpResponse must consume synchronous iterators")

from liftlab.serving import THREADS_VARIABLE  # noqa: E402 - after Django is set up
from liftlab.serving.buffering import WholeRequests  # noqa: E402
from liftlab.serving.handler import SyncChainASGIHandler  # noqa: E402

django_application = SyncChainASGIHandler()
application = WholeRequests(django_application, threads=int(os.environ.get(THREADS_VARIABLE, "8")))
