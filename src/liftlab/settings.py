"""Django settings: everything from environment variables, embedded defaults otherwise.

See ``liftlab.config`` for the variables; a fresh checkout runs on SQLite + chDB under
``LIFTLAB_HOME`` with no server at all.
"""

from __future__ import annotations

import os
import secrets

import dj_database_url

from liftlab import config

HOME = config.home()
HOME.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in LIFTLAB_HOME."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = HOME / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = config.env_flag("DEBUG", default=False)
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "*").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "liftlab.accounts",
    "liftlab.audit",
    "liftlab.experiments",
    "liftlab.events",
    "liftlab.ingestion_keys",
    "liftlab.sources",
    "liftlab.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "liftlab.urls"
WSGI_APPLICATION = "liftlab.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": dj_database_url.parse(config.database_url(), conn_max_age=60)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the threaded server read while it writes; the timeout rides out short write locks.
    # IMMEDIATE: a transaction takes the write lock as it begins (waiting up to the timeout), so
    # one that read first never fails to write with "database is locked", and the row lock
    # that select_for_update asks for (which SQLite ignores) holds all the same.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = HOME / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise serves from finders, but expects the folder
WHITENOISE_USE_FINDERS = True
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

EVENTSTORE_URL = config.eventstore_url()
# Below these, a comparison's verdict is insufficient_data whatever its p-value.
RESULTS_MIN_IDENTITIES = int(os.environ.get("RESULTS_MIN_IDENTITIES", "50"))
RESULTS_MIN_CONVERSIONS = int(os.environ.get("RESULTS_MIN_CONVERSIONS", "5"))
# `liftlab serve` recomputes running experiments' results this often; 0: never (cron runs
# `liftlab results refresh --all` instead, where several processes serve one ClickHouse).
RESULTS_REFRESH_MINUTES = float(os.environ.get("RESULTS_REFRESH_MINUTES", "60"))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous request then gets 401 with a WWW-Authenticate header.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only, bounded in size and nesting: a malformed body is a 400 naming it, never a 500.
    "DEFAULT_PARSER_CLASSES": ["liftlab.api.parsers.JSONParser"],
    # ASCII-escaped JSON: an unpaired surrogate echoed in an error message ("… is not a
    # valid choice") stays encodable, so it is a clean 400 naming the field, never a 500.
    "UNICODE_JSON": False,
    "DEFAULT_SCHEMA_CLASS": "liftlab.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "liftlab.api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "liftlab API",
    "DESCRIPTION": "Environments, the metric library, experiments, events and their results.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # 3.1: the result document's nullable fields are JSON Schema's `null` type (from pydantic).
    "OAS_VERSION": "3.1.0",
    # Served from the installed sidecar package: the docs work with no network at all.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
