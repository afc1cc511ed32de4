"""WSGI entry point, for another WSGI server; ``liftlab serve`` runs ``liftlab.asgi`` (uvicorn)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liftlab.settings")
application = get_wsgi_application()
