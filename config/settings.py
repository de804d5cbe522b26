"""Settings for the witness-appeal platform.

Every value comes from the environment and has a working local default: with nothing set the site
runs on SQLite, runs Celery tasks in-process and prints email to the console. Production differs
only by environment variables (see the README's configuration table).
"""

import tempfile
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY to a long random string, "
            "or set DEBUG=true to run locally with an insecure development key."
        )
    SECRET_KEY = "insecure-development-key-never-use-in-production"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
# Absolute links in emails, feeds and share tags point here.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
FORCE_NAME = env.str("FORCE_NAME", default="Metropolitan Police")
SITE_NAME = env.str("SITE_NAME", default="Witness appeals")
# The force as the controller of what witnesses send, named on the privacy notice, the accessibility statement
# and the cookies page. `manage.py check --deploy` warns while the example email addresses are left in.
FORCE_CONTROLLER = env.str("FORCE_CONTROLLER", default="The Commissioner of Police of the Metropolis")
FORCE_ADDRESS = env.str("FORCE_ADDRESS", default="New Scotland Yard, Victoria Embankment, London, SW1A 2JL")
FORCE_CONTACT_EMAIL = env.str("FORCE_CONTACT_EMAIL", default="witness-appeals@example.org")
FORCE_DPO_EMAIL = env.str("FORCE_DPO_EMAIL", default="data-protection-officer@example.org")
# Review periods after the national rules for police information (MoPI), stated on the privacy notice:
# a submission decided as needing no further action, or as a duplicate, is reviewed this many months later.
SUBMISSION_REVIEW_MONTHS_NO_ACTION = env.int("SUBMISSION_REVIEW_MONTHS_NO_ACTION", default=12)
# An actioned submission is part of the case record: reviewed with it, after MoPI's six years for most offences.
SUBMISSION_REVIEW_YEARS_ACTIONED = env.int("SUBMISSION_REVIEW_YEARS_ACTIONED", default=6)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    # The officers' admin, behind a TOTP second factor (config.admin.OfficersAdminSite).
    "config.apps.OfficersAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django.forms",
    "crispy_forms",
    "crispy_forms_gds",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "django_ratelimit",
    "incidents",
    "appeals",
    "submissions",
    "evidence",
    "config.apps.ProjectConfig",
]

MIDDLEWARE = [
    "config.middleware.ClientAddressFromProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before sessions, CSRF and CSP: a cached public page skips all of them (appeals/caching.py).
    "appeals.caching.PublicPageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.middleware.IdleSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.csp.ReportingEndpointsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.site",
            ],
        },
    },
]

# Widgets render through TEMPLATES, so templates/ can override one (admin/widgets/split_datetime.html).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
# PostgreSQL in production: the tables' owner, for `migrate --database owner` and `grant_app_role`, while the
# site and workers connect (DATABASE_URL) as a role that may not rewrite evidence (evidence/privileges.py).
if env.str("DATABASE_OWNER_URL", default=""):
    DATABASES["owner"] = env.db("DATABASE_OWNER_URL")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # Tasks run in-process beside the web server: take the write lock at BEGIN and wait for it,
    # rather than failing with "database is locked" half-way through a transaction.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        # FULL: a receipt is shown only once the account would survive a power cut.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
    }
# Opening a connection per request costs more than the page itself (9x on PostgreSQL, a third on SQLite).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
# A reused connection is checked (SELECT 1) before a request's first query, so that the first request after a
# database restart or failover works instead of failing; a page that makes no query (most of the journey's,
# with Redis) pays nothing for it.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
# An empty CACHE_URL is the same as none.
CACHES = {
    "default": env.cache_url_config(
        env.str("CACHE_URL", default="") or REDIS_URL.replace("redis://", "rediscache://") or "locmemcache://"
    )
}
# Before every key of the cache's and the broker's, for sites (or test processes) that share a Redis database.
REDIS_KEY_PREFIX = env.str("REDIS_KEY_PREFIX", default="")
if REDIS_KEY_PREFIX:
    CACHES["default"]["KEY_PREFIX"] = REDIS_KEY_PREFIX
# Public pages and released images: how long a shared cache in front (nginx, a CDN) may answer with its
# copy without asking, and how long the server keeps a rendered copy (0 turns it off). Browsers always ask
# again (a 304 when nothing changed). A change to an appeal makes the server's copies stale at once, and
# reaches the shared caches within twice PUBLIC_PAGE_SHARED_MAX_AGE: a withdrawn image must not linger.
PUBLIC_PAGE_SHARED_MAX_AGE = env.int("PUBLIC_PAGE_SHARED_MAX_AGE", default=1)
# A local-memory cache is per process, so another process's change reaches it only when its copy expires.
PUBLIC_PAGE_CACHE_SECONDS = env.int(
    "PUBLIC_PAGE_CACHE_SECONDS", default=10 if "LocMemCache" in CACHES["default"]["BACKEND"] else 600
)

# Flooding: accounts sent and uploads started per client (a keyed hash of its address, kept only in the
# cache for the window; submissions/ratelimits.py), as django-ratelimit rates ("30/10m"; empty: no limit).
# Generous, as phones behind a carrier's NAT share one address.
SUBMISSIONS_RATE_LIMIT = env.str("SUBMISSIONS_RATE_LIMIT", default="30/10m")
UPLOADS_RATE_LIMIT = env.str("UPLOADS_RATE_LIMIT", default="300/10m")
# A cache that cannot count lets the request through: a flood is less harm than a lost account.
RATELIMIT_FAIL_OPEN = True
if "LocMemCache" in CACHES["default"]["BACKEND"]:
    # Without CACHE_URL each process counts on its own, which is enough for one process on a laptop.
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]

AUTHENTICATION_BACKENDS = [
    # First, so a locked-out username and address is refused before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failed officer logins: after AXES_FAILURE_LIMIT attempts for one username from one address, that pair
# waits AXES_COOLOFF_MINUTES. Keyed on both, so nobody elsewhere can lock an officer out; kept short.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=10))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "config.admin.locked_out"
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_VERBOSE = False
# Axes reads REMOTE_ADDR, which config.middleware.ClientAddressFromProxyMiddleware sets behind nginx.
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Witness appeals")

# Sessions end after a time without a request (config.middleware.IdleSessionMiddleware): an officer's after
# SESSION_IDLE_MINUTES, a witness's unsent answers after WITNESS_ANSWERS_IDLE_HOURS (config.sessions).
# In the database; with a shared cache also read from it (config.sessions.cached), never with local memory.
SESSION_ENGINE = "config.sessions" if "LocMemCache" in CACHES["default"]["BACKEND"] else "config.sessions.cached"
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=30)
SESSION_COOKIE_AGE = env.int("WITNESS_ANSWERS_IDLE_HOURS", default=24) * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Like the session cookie, the CSRF cookie goes when the browser closes (Django's default keeps it a year).
CSRF_COOKIE_AGE = None

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# `collectstatic` writes here and WhiteNoise serves from here.
STATIC_ROOT = env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(VAR_DIR / "media"))
# Witness uploads: never under MEDIA_URL, only reachable through views that check access.
EVIDENCE_ROOT = env.str("EVIDENCE_ROOT", default=str(VAR_DIR / "evidence"))
# Set (e.g. "/protected-evidence/") when nginx serves EVIDENCE_ROOT at that internal location: the
# views check access and audit, then hand the bytes (and Range requests) to nginx with X-Accel-Redirect.
EVIDENCE_ACCEL_REDIRECT_PREFIX = env.str("EVIDENCE_ACCEL_REDIRECT_PREFIX", default="")
# Resumable uploads in progress: partial bytes on local disk, never under a public URL.
UPLOAD_DIR = env.str("UPLOAD_DIR", default=str(VAR_DIR / "uploads"))
# The no-JavaScript form's files stream here too, not to the system's temporary folder.
FILE_UPLOAD_TEMP_DIR = UPLOAD_DIR
UPLOAD_MAX_SIZE = env.int("UPLOAD_MAX_SIZE", default=10 * 1024**3)
# A PATCH bigger than this is refused, so no single request holds a web worker for long.
UPLOAD_MAX_CHUNK_SIZE = env.int("UPLOAD_MAX_CHUNK_SIZE", default=16 * 1024**2)
# What the site's own uploader sends per PATCH; nginx's client_max_body_size must allow it.
UPLOAD_CHUNK_SIZE = env.int("UPLOAD_CHUNK_SIZE", default=8 * 1024**2)
UPLOAD_NOJS_MAX_SIZE = env.int("UPLOAD_NOJS_MAX_SIZE", default=500 * 1024**2)
UPLOAD_MAX_FILES = env.int("UPLOAD_MAX_FILES", default=20)
UPLOAD_EXPIRY_HOURS = env.int("UPLOAD_EXPIRY_HOURS", default=72)
# Below this much free space (after the incoming bytes) uploads get 503 and Retry-After.
UPLOAD_MIN_FREE_BYTES = env.int("UPLOAD_MIN_FREE_BYTES", default=2 * 1024**3)
# A witness's private "add more footage" link takes files until this long after the appeal closes.
FOOTAGE_LINK_DAYS_AFTER_CLOSING = env.int("FOOTAGE_LINK_DAYS_AFTER_CLOSING", default=30)
# Other sites allowed to call the upload endpoint from a browser (a force's own web app).
UPLOAD_ALLOWED_ORIGINS = env.list("UPLOAD_ALLOWED_ORIGINS", default=[])
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "evidence": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": EVIDENCE_ROOT, "base_url": None},
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# S3-compatible object storage for evidence and released images instead of local folders, so that
# several web and worker machines share them. boto3 reads the credentials from AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY (or the machine's role). Everything is served through Django, never by URL.
OBJECT_STORAGE_BUCKET = env.str("OBJECT_STORAGE_BUCKET", default="")
if OBJECT_STORAGE_BUCKET:
    object_storage = {
        "bucket_name": OBJECT_STORAGE_BUCKET,
        "endpoint_url": env.str("OBJECT_STORAGE_ENDPOINT_URL", default="") or None,
        "region_name": env.str("OBJECT_STORAGE_REGION", default="") or None,
        "addressing_style": "path",
        "signature_version": "s3v4",
        "default_acl": None,  # the bucket's own policy, which must keep it private
        "file_overwrite": False,  # written once: a name already taken gets a new one
    }
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {**object_storage, "location": "media"},
    }
    STORAGES["evidence"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {**object_storage, "location": "evidence"},
    }

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Witness appeals <appeals@localhost>")

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# No broker configured: run tasks in-process, so one command gives a whole working site.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = "notify"
# Task modules besides each app's tasks.py, which autodiscovery finds by itself.
CELERY_IMPORTS = ["submissions.notifications", "submissions.pipeline"]
CELERY_TASK_ROUTES = {
    "submissions.tasks.process_*": {"queue": "media"},
    # Transcodes wait on a queue of their own, for workers of their own: they never hold up a first look.
    "submissions.tasks.make_web_proxy": {"queue": "proxy"},
    "submissions.tasks.notify_*": {"queue": "notify"},
    "evidence.tasks.*": {"queue": "media"},
}
# A task is acknowledged only when it ends, so a worker lost mid-task hands it to another.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Workers ride out a broker outage however long it lasts (the default gives up after 100 attempts).
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Keep running tasks running through a broker restart: they are idempotent, so the redelivery is harmless,
# and an hour of transcoding is not thrown away for a blip (Celery 6 is to change this default).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
if CELERY_BROKER_URL.startswith("redis://"):
    # Redis, with the fix that keeps a worker alive when the broker restarts (config/celery.py).
    CELERY_BROKER_TRANSPORT = "config.celery:RedisTransport"
# When the broker is down at enqueue time, give up within seconds: the request has already stored
# its rows, and the periodic sweep enqueues the work once the broker is back.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 2,
    "socket_timeout": 10,
    "global_keyprefix": REDIS_KEY_PREFIX,
}
CELERY_BEAT_SCHEDULE = {
    "sweep-stuck-media": {
        "task": "submissions.tasks.sweep_stuck_media",
        "schedule": env.float("MEDIA_SWEEP_INTERVAL", default=60.0),
    },
    "send-notification-digests": {
        "task": "submissions.tasks.send_notification_digests",
        "schedule": crontab(hour=env.int("NOTIFY_DIGEST_HOUR", default=7), minute=0),
    },
    "sweep-unsent-notifications": {
        "task": "submissions.tasks.sweep_unsent_notifications",
        "schedule": env.float("NOTIFY_SWEEP_INTERVAL", default=60.0),
    },
    "sweep-stuck-exports": {"task": "evidence.tasks.sweep_stuck_exports", "schedule": 300.0},
    "sweep-stuck-disposals": {"task": "evidence.tasks.sweep_stuck_disposals", "schedule": 300.0},
    "store-whole-uploads": {"task": "submissions.tasks.store_whole_uploads", "schedule": 300.0},
    "expire-abandoned-uploads": {"task": "submissions.tasks.expire_uploads", "schedule": 3600.0},
    "clear-expired-sessions": {"task": "submissions.tasks.clear_expired_sessions", "schedule": 3600.0},
}
# An email about a new submission still unsent after this long (the broker or the mail server was down)
# is queued again by the sweep.
NOTIFY_STUCK_AFTER_SECONDS = env.int("NOTIFY_STUCK_AFTER_SECONDS", default=300)
# An officer emailed less than this long ago hears of the next new submissions in one email when it is over
# (sweep-unsent-notifications sends it). 0 without a broker: nothing else would send that email.
NOTIFY_BATCH_MINUTES = env.int("NOTIFY_BATCH_MINUTES", default=10 if CELERY_BROKER_URL else 0)
CELERY_TIMEZONE = TIME_ZONE

# Virus scanning through clamd: a unix socket path or host:port. Empty: no scanner, and files stay
# "scan pending" (never marked clean). StreamMaxLength in clamd.conf must be at least CLAMD_MAX_BYTES;
# larger files are recorded as "not scanned: too large".
CLAMD_ADDRESS = env.str("CLAMD_ADDRESS", default="")
CLAMD_MAX_BYTES = env.int("CLAMD_MAX_BYTES", default=4000 * 1024 * 1024)
CLAMD_TIMEOUT = env.int("CLAMD_TIMEOUT", default=600)

# Media processing (submissions/media.py). Limits for every ffmpeg/ffprobe run and for Pillow.
MEDIA_MAX_ATTEMPTS = env.int("MEDIA_MAX_ATTEMPTS", default=5)
# A worker holds a file for this long and renews the hold while it works; a dead worker's file is
# picked up again by the sweep once the hold runs out.
MEDIA_LEASE_SECONDS = env.int("MEDIA_LEASE_SECONDS", default=120)
# A received file not picked up within this time (the broker was down, say) is enqueued again.
MEDIA_STUCK_AFTER_SECONDS = env.int("MEDIA_STUCK_AFTER_SECONDS", default=300)
# Each task's files (frames, the proxy being made, a copy of an object-storage original) go in a
# folder of their own here, on a local disk; a killed worker's folder is removed by the next task or sweep.
MEDIA_WORK_DIR = env.str("MEDIA_WORK_DIR", default=str(Path(tempfile.gettempdir()) / "appeals-media"))
# Witnesses are told their files may take longer to be looked at, and officers see the backlog, when this
# many files wait for processing, or the oldest has waited this long, or the upload disk is filling.
MEDIA_BACKLOG_WARN_FILES = env.int("MEDIA_BACKLOG_WARN_FILES", default=200)
MEDIA_BACKLOG_WARN_MINUTES = env.int("MEDIA_BACKLOG_WARN_MINUTES", default=15)
MEDIA_TOOL_MEMORY_BYTES = env.int("MEDIA_TOOL_MEMORY_BYTES", default=4 * 1024**3)
MEDIA_PROBE_TIMEOUT = env.int("MEDIA_PROBE_TIMEOUT", default=60)
MEDIA_FRAME_TIMEOUT = env.int("MEDIA_FRAME_TIMEOUT", default=300)
# The proxy may take this many seconds per second of footage (and at least MEDIA_FRAME_TIMEOUT).
MEDIA_PROXY_TIME_FACTOR = env.float("MEDIA_PROXY_TIME_FACTOR", default=4.0)
MEDIA_PROXY_PRESET = env.str("MEDIA_PROXY_PRESET", default="veryfast")
MEDIA_MAX_DURATION_SECONDS = env.int("MEDIA_MAX_DURATION_SECONDS", default=6 * 3600)
MEDIA_MAX_IMAGE_PIXELS = env.int("MEDIA_MAX_IMAGE_PIXELS", default=100_000_000)
MEDIA_MAX_VIDEO_PIXELS = env.int("MEDIA_MAX_VIDEO_PIXELS", default=8192 * 4320)


CRISPY_ALLOWED_TEMPLATE_PACKS = ["gds"]
CRISPY_TEMPLATE_PACK = "gds"

CSP_REPORT_PATH = "/csp-report/"
CSP_REPORT_GROUP = "csp"
# Reports logged per minute, across the whole site; the rest are dropped unread.
CSP_REPORTS_PER_MINUTE = env.int("CSP_REPORTS_PER_MINUTE", default=60)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "media-src": [SELF, "blob:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        # Violations are posted to config.csp_report: report-uri for every browser, report-to (with the
        # Reporting-Endpoints header) for those that have the Reporting API.
        "report-uri": [CSP_REPORT_PATH],
        "report-to": CSP_REPORT_GROUP,
    }
}

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
# Served over HTTPS (SITE_URL says so): secure cookies, HTTP redirected to HTTPS, and HSTS.
HTTPS = SITE_URL.startswith("https://")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
if HTTPS:
    # __Host-: the browser only accepts them over HTTPS, for this host and path /, never set by a subdomain.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=HTTPS)
# A load balancer's health probe may come over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=HTTPS)

# Every handler scrubs upload tokens from what it writes (submissions/logs.py). Django's own loggers are
# given these handlers, so that none keeps one of Django's defaults, which would not scrub.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "scrub_upload_tokens": {"()": "submissions.logs.ScrubUploadTokens"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {
        "django.server": {"()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}", "style": "{"}
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["scrub_upload_tokens"]},
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["scrub_upload_tokens"],
        },
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "filters": ["require_debug_false", "scrub_upload_tokens"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django": {"handlers": ["mail_admins"], "level": "INFO"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        # redis-py gives this logger a handler of its own unless it is already configured.
        "push_response": {"level": "INFO"},
    },
}
# The error report (emailed to ADMINS, or the DEBUG page) without the request's upload token.
DEFAULT_EXCEPTION_REPORTER = "submissions.logs.ScrubbedExceptionReporter"

LOGIN_URL = "admin:login"
