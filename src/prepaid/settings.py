"""Django settings, driven by the data directory and the environment.

``PREPAID_HOME`` chooses the data directory; ``DATABASE_URL`` overrides its SQLite database
(``postgresql://…`` for several stations sharing one database).
"""

from __future__ import annotations

import os
from pathlib import Path

from prepaid.home import DataHome, default_home, office_time_zone, station_name
from prepaid.logs import log_level

PACKAGE_DIR = Path(__file__).resolve().parent
HOME = DataHome(default_home())


def _secret_key() -> str:
    if HOME.exists():
        return HOME.load_secrets().django_secret_key
    # Before `prepaid init` has created the site secrets (only `init` itself runs then).
    return "prepaid-uninitialised-" + str(HOME.root)


# A web server's thread keeps its SQLite connection between requests: opening one and setting
# its pragmas cost more than most pages. (The CLI's short processes are not affected.)
CONN_MAX_AGE = 600


def _database() -> dict[str, object]:
    url = os.environ.get("DATABASE_URL")
    return database_from_url(url) if url else _sqlite(str(HOME.database))


def database_from_url(url: str) -> dict[str, object]:
    """The database settings for a ``DATABASE_URL`` (the tests' PostgreSQL server too)."""
    import dj_database_url  # only stations on a shared database pay for the import

    # A connection per request: a server's threads holding theirs would add up, station
    # by station, towards the shared server's connection limit.
    config: dict[str, object] = dict(dj_database_url.parse(url, conn_max_age=0))
    if config.get("ENGINE") == "django.db.backends.sqlite3":
        # An SQLite file named by URL is as durable as the default one.
        return _sqlite(str(config["NAME"]))
    if "postgresql" in str(config.get("ENGINE")):
        # Prepared statements for the sale's own statements (prepaid.rows); the ORM's
        # client-side binding cursors are never prepared, whatever this says.
        options = dict(config.get("OPTIONS") or {})  # type: ignore[call-overload]
        options.setdefault("prepare_threshold", 5)
        # Named in the server's session list: a restore names the stations still connected.
        options.setdefault("application_name", f"prepaid {station_name()}"[:63])
        config["OPTIONS"] = options
    return config


def _sqlite(name: str) -> dict[str, object]:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": name,
        "OPTIONS": {
            # WAL lets readers run beside the one writer; FULL makes every commit durable
            # before a card is written; IMMEDIATE takes the write lock at BEGIN so two
            # stations never deadlock upgrading a read lock.
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
        # the pragmas above are set once per connection, and a connection serves many requests
        "CONN_MAX_AGE": CONN_MAX_AGE,
        "CONN_HEALTH_CHECKS": True,
    }


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("PREPAID_DEBUG") == "1"
ALLOWED_HOSTS = [
    host
    for host in os.environ.get("PREPAID_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
    if host
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "prepaid.operators",
    "prepaid.audit",
    "prepaid.accounts",
    "prepaid.customers",
    "prepaid.cards",
    "prepaid.vending",
    "prepaid.reports",
    "prepaid.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # the operator's language, idle session expiry, the forced password change (web UI)
    "prepaid.web.middleware.OperatorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "prepaid.urls"
WSGI_APPLICATION = "prepaid.wsgi.application"

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
                "django.template.context_processors.i18n",
            ],
        },
    },
]

DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "operators.Operator"

PASSWORD_HASHERS = [
    "prepaid.operators.hashers.PrepaidArgon2Hasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 6},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "web:login"
# A stale form (expired session) gets a clear page in the operator's language.
CSRF_FAILURE_VIEW = "prepaid.web.views.home.csrf_failure"

SESSION_COOKIE_AGE = 8 * 3600  # one working day
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
# English times on the 24-hour clock (prepaid/formats/en/formats.py); a dotted path, so the
# module is imported when a page first formats a date in English, not with the settings.
FORMAT_MODULE_PATH = ["prepaid.formats"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = office_time_zone()

STATIC_URL = "static/"
STATIC_ROOT = HOME.root / "static"

# Django's own, imported when an error is reported rather than at every start.
DEFAULT_EXCEPTION_REPORTER = "prepaid.logs.ExceptionReporter"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"one_warning_line": {"()": "prepaid.logs.OneWarningLine"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": log_level()},
    # A request for a host not in PREPAID_ALLOWED_HOSTS: one line, not a traceback each time.
    "loggers": {"django.security.DisallowedHost": {"filters": ["one_warning_line"]}},
}
