"""WSGI entry point used by ``liftlab serve`` (gunicorn)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liftlab.settings")
application = get_wsgi_application()
