"""Jalin settings, driven by environment variables.

JALIN_ENV=production turns on the hardened settings (secure cookies, HSTS, SSL redirect) and
requires JALIN_SECRET_KEY and JALIN_ALLOWED_HOSTS. DATABASE_URL=postgres://... switches from
the embedded SQLite database to PostgreSQL.
"""

import os
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
PACKAGE_DIR = BASE_DIR / "jalin"


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


JALIN_ENV = os.environ.get("JALIN_ENV", "development").lower()
PRODUCTION = JALIN_ENV == "production"
DEBUG = env_bool("JALIN_DEBUG", default=not PRODUCTION)

DATA_DIR = Path(os.environ.get("JALIN_DATA_DIR", BASE_DIR / "data"))

if PRODUCTION:
    SECRET_KEY = os.environ["JALIN_SECRET_KEY"]
    ALLOWED_HOSTS = env_list("JALIN_ALLOWED_HOSTS")
else:
    SECRET_KEY = os.environ.get(
        "JALIN_SECRET_KEY", "dev-only-insecure-key-change-me-in-production-0123456789abcdef"
    )
    ALLOWED_HOSTS = env_list("JALIN_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver,[::1]")

CSRF_TRUSTED_ORIGINS = env_list("JALIN_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "jalin.accounts",
    "jalin.tenancy",
    "jalin.core",
    "jalin.api",
    "jalin.crm",
    "jalin.hub",
    "jalin.sales",
    "jalin.service",
    "jalin.brm",
    "django_tasks_db",
    "django_htmx",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "jalin.core.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "jalin.accounts.middleware.IdleTimeoutMiddleware",
    "jalin.tenancy.middleware.ActiveOrganizationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "jalin.tenancy.context_processors.tenancy",
            ],
            # `unlocalize` everywhere without {% load l10n %}: USE_THOUSAND_SEPARATOR is on, so
            # an id printed plainly becomes "1,182" in links, form values and element ids.
            # Widget templates are rendered by the form renderer, which has no builtins: they
            # still {% load l10n %} themselves.
            "builtins": ["django.templatetags.l10n"],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
SQLITE_PATH = DATA_DIR / "jalin.sqlite3"
_sqlite = {
    "ENGINE": "django.db.backends.sqlite3",
    "NAME": SQLITE_PATH,
    "OPTIONS": {
        # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue instead of
        # failing with "database is locked" when they upgrade a read transaction.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL;"
            "PRAGMA synchronous=NORMAL;"
            "PRAGMA foreign_keys=ON;"
        ),
    },
}
if os.environ.get("DATABASE_URL"):
    DATABASES = {
        "default": dj_database_url.parse(
            os.environ["DATABASE_URL"], conn_max_age=int(os.environ.get("JALIN_CONN_MAX_AGE", 60))
        )
    }
    DATABASES["default"].setdefault("TEST", {})
    if os.environ.get("JALIN_TEST_DB_NAME"):
        DATABASES["default"]["TEST"]["NAME"] = os.environ["JALIN_TEST_DB_NAME"]
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {"default": _sqlite}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

# Lockout: this many failures for one username from one IP within the window lock it out.
JALIN_LOCKOUT_FAILURES = int(os.environ.get("JALIN_LOCKOUT_FAILURES", 5))
JALIN_LOCKOUT_WINDOW_SECONDS = int(os.environ.get("JALIN_LOCKOUT_WINDOW_SECONDS", 15 * 60))
# Idle timeout: a session unused this long is ended on the server.
JALIN_IDLE_TIMEOUT_SECONDS = int(os.environ.get("JALIN_IDLE_TIMEOUT_SECONDS", 30 * 60))
SESSION_COOKIE_AGE = int(os.environ.get("JALIN_SESSION_MAX_AGE_SECONDS", 12 * 60 * 60))
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
PASSWORD_RESET_TIMEOUT = 60 * 60 * 3
JALIN_INVITATION_DAYS = 7
# Where people reach this installation (scheme://host[:port], no trailing slash): links in
# e-mails sent by background jobs, which have no request to take the host from (survey
# invitations). Empty: links are relative paths.
JALIN_SITE_URL = os.environ.get("JALIN_SITE_URL", "" if PRODUCTION else "http://127.0.0.1:8000"
                                ).rstrip("/")
JALIN_API_TOKEN_DAYS = int(os.environ.get("JALIN_API_TOKEN_DAYS", 365))
JALIN_TRUSTED_PROXY_HOPS = int(os.environ.get("JALIN_TRUSTED_PROXY_HOPS", 0))

# --- Security headers -----------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("JALIN_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("JALIN_HSTS_SECONDS", 31536000))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("JALIN_HSTS_PRELOAD", True)
    SESSION_COOKIE_NAME = "__Secure-sessionid"
    CSRF_COOKIE_NAME = "__Secure-csrftoken"

# --- Email ----------------------------------------------------------------------------------
# Django 6.1 configures mail through MAILERS (the EMAIL_BACKEND/EMAIL_HOST family is deprecated
# and must not be set alongside it). Development prints mail to the console. SMTP is used when
# JALIN_EMAIL_HOST is set, and always in production, where an unset host means a relay on
# localhost:25 (the deploy check rejects the console backend: reset links would go nowhere).
_email_host = os.environ.get("JALIN_EMAIL_HOST", "")
if _email_host or PRODUCTION:
    _email_use_ssl = env_bool("JALIN_EMAIL_USE_SSL", False)
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _email_host or "localhost",
                "port": int(os.environ.get("JALIN_EMAIL_PORT", 587 if _email_host else 25)),
                "username": os.environ.get("JALIN_EMAIL_USER", ""),
                "password": os.environ.get("JALIN_EMAIL_PASSWORD", ""),
                # STARTTLS to a named host by default; JALIN_EMAIL_USE_SSL=1 for implicit TLS
                # (port 465). A localhost relay speaks plain SMTP unless told otherwise.
                "use_tls": env_bool(
                    "JALIN_EMAIL_USE_TLS", bool(_email_host) and not _email_use_ssl
                ),
                "use_ssl": _email_use_ssl,
                "timeout": int(os.environ.get("JALIN_EMAIL_TIMEOUT", 10)),
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
DEFAULT_FROM_EMAIL = os.environ.get("JALIN_FROM_EMAIL", "Jalin <no-reply@jalin.local>")
# Email to case (jalin/service/inbound_mail.py): larger messages are refused (SMTP 552, HTTP
# 413, skipped by the IMAP poller); longer bodies are cut.
JALIN_MAIL_MAX_BYTES = int(os.environ.get("JALIN_MAIL_MAX_BYTES", 10 * 1024 * 1024))
JALIN_MAIL_MAX_BODY_CHARS = int(os.environ.get("JALIN_MAIL_MAX_BODY_CHARS", 40_000))

# --- i18n -----------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("id", _("Bahasa Indonesia"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
# Numbers in pages follow the language: 1,234,567 (en) / 1.234.567 (id). Templates must
# render ids and versions with |unlocalize (or through form widgets, which do not group).
USE_THOUSAND_SEPARATOR = True
TIME_ZONE = "Asia/Jakarta"
USE_TZ = True
JALIN_DEFAULT_CURRENCY = "IDR"
LANGUAGE_COOKIE_SECURE = PRODUCTION
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
# Vendored third-party assets (Pico, htmx) live outside any app, so name the folder.
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("JALIN_STATIC_ROOT", BASE_DIR / "staticfiles"))
if not PRODUCTION:
    # WhiteNoise warns on every start when STATIC_ROOT is missing; in development the files
    # come from the app folders (runserver), so an empty folder is all it needs. Production
    # keeps the warning: there a missing collectstatic is a real mistake.
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = DATA_DIR / "media"
# Uploaded documents and import files: outside the web root and never served by a URL of
# their own; views stream them as attachments after checking the organization.
JALIN_PRIVATE_MEDIA_ROOT = Path(
    os.environ.get("JALIN_PRIVATE_MEDIA_ROOT", DATA_DIR / "private")
)
STORAGES["private"] = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": str(JALIN_PRIVATE_MEDIA_ROOT), "base_url": None},
}
JALIN_DOCUMENT_MAX_BYTES = int(os.environ.get("JALIN_DOCUMENT_MAX_BYTES", 25 * 1024 * 1024))
JALIN_IMPORT_MAX_BYTES = int(os.environ.get("JALIN_IMPORT_MAX_BYTES", 50 * 1024 * 1024))
JALIN_PRODUCT_IMAGE_MAX_BYTES = int(
    os.environ.get("JALIN_PRODUCT_IMAGE_MAX_BYTES", 10 * 1024 * 1024))
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Background work ------------------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "events"],
    }
}
# Event delivery: a failing consumer retries with exponential backoff, then dead-letters.
JALIN_EVENT_MAX_ATTEMPTS = int(os.environ.get("JALIN_EVENT_MAX_ATTEMPTS", 8))
JALIN_EVENT_BACKOFF_BASE_SECONDS = float(os.environ.get("JALIN_EVENT_BACKOFF_BASE_SECONDS", 5))
JALIN_EVENT_BACKOFF_MAX_SECONDS = float(os.environ.get("JALIN_EVENT_BACKOFF_MAX_SECONDS", 3600))

# --- Hub payments ---------------------------------------------------------------------------
# Payment providers offered for "Pay now" (the built-in "test" provider marks invoices paid
# without real money: never enable it in production). Webhook secrets per provider.
JALIN_PAYMENT_PROVIDERS = env_list("JALIN_PAYMENT_PROVIDERS", "" if PRODUCTION else "test")
JALIN_PAYMENT_TEST_SECRET = os.environ.get(
    "JALIN_PAYMENT_TEST_SECRET", "dev-only-payment-test-secret-change-me"
)
JALIN_PAYMENT_WEBHOOK_TOLERANCE_SECONDS = int(
    os.environ.get("JALIN_PAYMENT_WEBHOOK_TOLERANCE_SECONDS", 300)
)
JALIN_PAYMENT_WEBHOOK_MAX_BYTES = 64 * 1024
JALIN_PAYMENT_CHECKOUT_MINUTES = int(os.environ.get("JALIN_PAYMENT_CHECKOUT_MINUTES", 60))
# Overdue reminders: days after the due date for level 1, 2, 3 (the last one is "final").
JALIN_INVOICE_REMINDER_DAYS = [
    int(day) for day in env_list("JALIN_INVOICE_REMINDER_DAYS", "1,7,14")
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("JALIN_LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's default config gives the "django" logger its own console handler; with the
        # root handler too, every django.* line would print twice.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.db.backends": {"level": "WARNING"},
    },
}
