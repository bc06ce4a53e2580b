"""Future Forward settings: one module, every difference between environments read from the
environment. Development defaults are safe; production secrets have no default and fail loudly.
Past 500 lines on purpose: one module, so every setting and the variable that sets it can be
found in one place (see the README's settings table).
"""

import os
import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)
TESTING = "pytest" in sys.modules or env_bool("FF_TESTING", False)

SECRET_KEY = env("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production"  # noqa: S105
# Production refuses keys anyone could guess: the dev key above, Django's generated
# "django-insecure-" keys, and anything shorter or plainer than Django's own deploy check accepts.
if not DEBUG and (
    SECRET_KEY == "dev-only-insecure-key-never-use-in-production"  # noqa: S105
    or SECRET_KEY.startswith("django-insecure-")
    or len(SECRET_KEY) < 50
    or len(set(SECRET_KEY)) < 5
):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is too weak for production: use 50 or more random characters, e.g. "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )
# Old keys still accepted for signatures (sessions, login codes) while a new key rolls out.
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set when DJANGO_DEBUG is off.")
if not DEBUG and "*" in ALLOWED_HOSTS:
    # Any Host header would then be believed, and links built from it (login codes) poisoned.
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must name the site's hosts, not '*'.")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# `make bench` only: mounts /bench/ceiling/, the do-nothing page other pages are measured against.
BENCH_CEILING = env_bool("FF_BENCH_CEILING", False)

# Absolute base for links in emails and feeds, e.g. https://futureforward.example. Unset, the
# local server's address, on the port it serves (`PORT=8080 make run` links to :8080).
SITE_URL = env("SITE_URL", f"http://127.0.0.1:{env('PORT') or '8000'}").rstrip("/")

INSTALLED_APPS = [
    # django.contrib.admin, with the editors' site (navigation by task) as admin.site.
    "futureforward.adminsite.EditorsAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django.contrib.sitemaps",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "django_prose_editor",
    "csp",
    "publication",
    "accounts",
    "posts",
    "polls",
    "comments",
    "newsletter",
    "analytics",
    "integrations",
    "imports",
    # Last: the project package composes the apps (demo and bench content, the seed commands)
    # and serves the site's static files (futureforward/static/).
    "futureforward",
]

MIDDLEWARE = [
    "futureforward.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "futureforward.security.SecurityHeadersMiddleware",
    # Any POST (or other unsafe request) marks the browser for a few seconds, so that reader's
    # next pages read the page cache's version numbers from the database (posts/pagecache/).
    "posts.pagecache.fresh.FreshReadsMiddleware",
    "futureforward.security.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # CORS and ETags for the Content API (/api/), before anything reads a session.
    "integrations.middleware.ApiMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # A post's address on the platform it was imported from answers with a redirect, only when
    # nothing else answered it (a 404): one indexed lookup, on 404s only. Inside
    # CommonMiddleware, so an old address without its slash is redirected in one step.
    "imports.middleware.OldAddressMiddleware",
    "analytics.middleware.CountingMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's, with the reader loaded by the session's own query (accounts/sessions.py).
    "accounts.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "futureforward.security.StaffTwoFactorMiddleware",
]

ROOT_URLCONF = "futureforward.urls"
WSGI_APPLICATION = "futureforward.wsgi.application"

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
                "accounts.context_processors.site",
                "publication.context_processors.publication",
                "csp.context_processors.nonce",
            ],
            "libraries": {"ff_csp": "futureforward.csp_tags"},
        },
    },
]

# --- Database: PostgreSQL only, named by DATABASE_URL. Loading settings starts nothing: the
# Makefile's commands run under `python -m futureforward.pgembed run --`, which starts the
# embedded PostgreSQL when no DATABASE_URL is given and hands it to the command as one. ---
if not env("DATABASE_URL"):
    raise ImproperlyConfigured(
        "DATABASE_URL is not set. Use the make targets (make run, make test, ...), which start "
        "the embedded PostgreSQL for you, or wrap a command yourself: "
        "python -m futureforward.pgembed run -- python manage.py <command>. "
        "To use your own server, set DATABASE_URL=postgresql://user:password@host:5432/name."
    )
DATABASES = {"default": dj_database_url.parse(env("DATABASE_URL"))}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("Future Forward runs on PostgreSQL only.")
# Persistent connections with a health check: a restarted PostgreSQL costs a failed request at
# most, then Django reconnects by itself.
DATABASES["default"]["CONN_MAX_AGE"] = int(env("DJANGO_CONN_MAX_AGE", "60"))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# While PostgreSQL is down a request fails after this many seconds instead of holding a web
# worker until gunicorn's timeout kills it.
DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
    "connect_timeout", int(env("DJANGO_DB_CONNECT_TIMEOUT", "5"))
)
# The same backend with connection attempts retried for a few seconds, so requests arriving
# while PostgreSQL restarts wait for it instead of failing (futureforward/db/base.py).
DATABASES["default"]["ENGINE"] = "futureforward.db"
DATABASES["default"]["CONNECT_RETRY_SECONDS"] = float(env("DJANGO_DB_CONNECT_RETRY", "5"))
# After the retry fails, every process on this machine answers at once (a 503 page with this
# Retry-After) for this many seconds before one of them tries again (0 turns the pause off).
DATABASES["default"]["CONNECT_PAUSE_SECONDS"] = float(env("DJANGO_DB_CONNECT_PAUSE", "5"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# Rate limits and login codes live in the cache, so it must be shared by every process:
# Redis when REDIS_URL is set, PostgreSQL's cache table otherwise.
# django-redis rather than Django's built-in client: socket timeouts, so a Redis outage fails
# requests quickly instead of hanging them, and rediss:// / Sentinel URLs work unchanged.
if env("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": env("REDIS_URL"),
            "KEY_PREFIX": env("DJANGO_CACHE_KEY_PREFIX", "ff"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 5,
                "SOCKET_TIMEOUT": 5,
                # Errors are raised, not ignored: a rate limit that silently stops counting
                # would be worse than a failed request.
                "IGNORE_EXCEPTIONS": False,
            },
        }
    }
else:
    CACHES = {
        "default": {
            # Django's database cache, writing in one statement (futureforward/cache.py).
            "BACKEND": "futureforward.cache.PostgresCache",
            "LOCATION": "ff_cache",
        }
    }

# Rendered pages for anonymous readers (posts/pagecache/): in each process's memory, because
# every entry is keyed by the version numbers of what it shows, so no process can serve a stale
# one; a miss costs one render per process. POSTS_PAGE_CACHE_SECONDS=0 turns it off.
CACHES["pages"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "ff-pages",
    # Pages, and the small parts kept beside them for logged-in readers (a header per name).
    "OPTIONS": {"MAX_ENTRIES": int(env("POSTS_PAGE_CACHE_ENTRIES", "5000"))},
}
POSTS_PAGE_CACHE_SECONDS = int(env("POSTS_PAGE_CACHE_SECONDS", "60"))
# PostgreSQL pushes the pages' version numbers to each web process (LISTEN/NOTIFY, one
# connection per process), so a page served from the cache costs no query. 0 reads them from
# the database on every request instead: needed where LISTEN does not work, such as behind a
# pgbouncer in transaction pooling mode.
POSTS_PAGE_VERSIONS_LISTEN = env_bool("POSTS_PAGE_VERSIONS_LISTEN", True)
# The publication's settings (publication/) are kept in each process's memory: the process that
# saves them forgets its copy at once, every other one re-reads them after this many seconds.
PUBLICATION_CACHE_SECONDS = int(env("PUBLICATION_CACHE_SECONDS", "5"))

AUTHENTICATION_BACKENDS = [
    "accounts.backends.ModelBackend",
    "accounts.backends.AuthenticationBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Accounts (django-allauth): readers subscribe with an email and log in with a code. ---
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS = 3
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = True
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https") else "http"
# The site's address rule (accounts/addresses.py) on allauth's forms that take an address; the
# adapter's clean_email and send_mail apply it too, for any form or email left.
ACCOUNT_FORMS = {
    "request_login_code": "accounts.forms.LoginCodeForm",
    "add_email": "accounts.forms.AddEmailForm",
    "reset_password": "accounts.forms.ResetPasswordForm",
}
# allauth's limits plus readers' own actions, which accounts/ratelimits.py counts (same format,
# same client-IP logic).
ACCOUNT_RATE_LIMITS = {
    "subscribe": "10/h/ip,3/10m/key",
    "comment": "5/m/user",
    "vote": "30/m/user",
    "react": "60/m/user",
    # The Content API: calls without a key per client address, calls with a key per key.
    "api": env("DJANGO_API_RATE_LIMIT", "120/m/ip"),
    "api_key": env("DJANGO_API_KEY_RATE_LIMIT", "600/m/key"),
    # Subscriptions asked for through the API, per address asked for.
    "api_subscribe": "3/10m/key",
}
# How long a poll's vote link in an email stays valid, in seconds (the poll's closing time too).
POLLS_EMAIL_VOTE_MAX_AGE = 60 * 60 * 24 * 30
ALLAUTH_TRUSTED_PROXY_COUNT = int(env("DJANGO_TRUSTED_PROXY_COUNT", "0"))
LOGIN_REDIRECT_URL = "/"
LOGIN_URL = "account_request_login_code"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
# Staff without an authenticator app are sent to set one up before /admin/ opens for them
# (futureforward/security.py). Off by default so a first deploy does not lock editors out.
REQUIRE_STAFF_MFA = env_bool("DJANGO_REQUIRE_STAFF_MFA", False)

# --- Email: console in development, SMTP when EMAIL_URL or EMAIL_HOST is set. ---
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Future Forward <newsletter@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if env("EMAIL_URL"):
    _email = urlsplit(env("EMAIL_URL"))
    _query = parse_qs(_email.query)
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _email.hostname or "localhost"
    EMAIL_PORT = _email.port or (465 if _email.scheme == "smtps" else 25)
    EMAIL_HOST_USER = unquote(_email.username or "")
    EMAIL_HOST_PASSWORD = unquote(_email.password or "")
    EMAIL_USE_SSL = _email.scheme == "smtps"
    EMAIL_USE_TLS = _query.get("tls", ["0"])[0] in {"1", "true"}
elif env("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env("EMAIL_HOST")
    EMAIL_PORT = int(env("EMAIL_PORT", "25"))
    EMAIL_HOST_USER = env("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
EMAIL_TIMEOUT = 30
# A mail provider's API instead of SMTP, through django-anymail: set EMAIL_BACKEND, e.g.
# anymail.backends.postmark.EmailBackend, and its settings as ANYMAIL_<NAME> variables, e.g.
# ANYMAIL_POSTMARK_SERVER_TOKEN; ANYMAIL_WEBHOOK_SECRET turns on the bounce/complaint webhooks.
if env("EMAIL_BACKEND"):
    EMAIL_BACKEND = env("EMAIL_BACKEND")
ANYMAIL = {
    name.removeprefix("ANYMAIL_"): value
    for name, value in os.environ.items()
    if name.startswith("ANYMAIL_") and value
}

# --- Newsletter sending (newsletter/delivery.py): batches of deliveries claimed by task workers.
NEWSLETTER_BATCH_SIZE = int(env("NEWSLETTER_BATCH_SIZE", "100"))  # messages per SMTP connection
NEWSLETTER_PARALLEL = int(env("NEWSLETTER_PARALLEL", "4"))  # batches in flight per send
# SMTP connections at once per task worker, each a thread with its own batch
NEWSLETTER_SMTP_CONNECTIONS = max(1, int(env("NEWSLETTER_SMTP_CONNECTIONS", "4")))
NEWSLETTER_LEASE_SECONDS = float(env("NEWSLETTER_LEASE_SECONDS", "600"))  # a dead worker's rows
NEWSLETTER_RETRY_SECONDS = float(env("NEWSLETTER_RETRY_SECONDS", "60"))  # first retry, doubling
NEWSLETTER_RETRY_MAX_SECONDS = float(env("NEWSLETTER_RETRY_MAX_SECONDS", "3600"))
NEWSLETTER_MAX_ATTEMPTS = int(env("NEWSLETTER_MAX_ATTEMPTS", "5"))  # per message, then failed
NEWSLETTER_WATCHDOG_SECONDS = float(env("NEWSLETTER_WATCHDOG_SECONDS", "60"))
NEWSLETTER_STALL_SECONDS = float(env("NEWSLETTER_STALL_SECONDS", "300"))
# Flush each "sent" mark to disk before the next message (slower; see newsletter/delivery.py).
NEWSLETTER_DURABLE_MARKS = env_bool("NEWSLETTER_DURABLE_MARKS", False)
NEWSLETTER_UNSUBSCRIBE_MAILTO = env("NEWSLETTER_UNSUBSCRIBE_MAILTO")  # optional mailto: target

# --- Analytics (analytics/): visits are counted in each process's memory and written as one
# upsert per post and day every ANALYTICS_FLUSH_SECONDS by a thread of that process (0: never by
# itself; tests flush by hand). The open-tracking pixel is off unless asked for: Apple Mail
# Privacy Protection loads every image, so its number says little (the send report says so).
ANALYTICS_FLUSH_SECONDS = float(env("ANALYTICS_FLUSH_SECONDS", "0" if TESTING else "10"))
ANALYTICS_EMAIL_OPENS = env_bool("ANALYTICS_EMAIL_OPENS", False)

# --- Integrations: the Content API (/api/v1/) and outgoing webhooks (integrations/). ---
# Origins whose pages may call the Content API from a browser, e.g. https://shop.example; only
# these get Access-Control-Allow-Origin, and other origins' cross-site writes are refused.
API_CORS_ORIGINS = env_list("DJANGO_API_CORS_ORIGINS")
# Seconds to connect to a webhook receiver, and to wait for its answer: a receiver that hangs
# holds a task worker for no longer than this.
WEBHOOK_TIMEOUT_SECONDS = float(env("WEBHOOK_TIMEOUT_SECONDS", "5"))
WEBHOOK_MAX_ATTEMPTS = int(env("WEBHOOK_MAX_ATTEMPTS", "6"))  # per delivery, then failed
WEBHOOK_RETRY_SECONDS = float(env("WEBHOOK_RETRY_SECONDS", "30"))  # first retry, doubling
# Failed deliveries in a row after which an endpoint is turned off and the editors are told.
WEBHOOK_DISABLE_AFTER = int(env("WEBHOOK_DISABLE_AFTER", "15"))
# Receivers on loopback, private and link-local addresses are refused (a webhook must not reach
# into the site's own network). Only the tests turn this on, for a receiver on 127.0.0.1.
WEBHOOK_ALLOW_LOOPBACK = False

# --- Imports from other platforms (imports/). ---
# The largest export file an editor may upload, and the most a zip may unpack to.
IMPORTS_MAX_UPLOAD_BYTES = int(env("IMPORTS_MAX_UPLOAD_MB", "50")) * 1024 * 1024
IMPORTS_MAX_UNPACKED_BYTES = int(env("IMPORTS_MAX_UNPACKED_MB", "500")) * 1024 * 1024
# Fetching imported posts' images: seconds per connection and read, largest image accepted.
IMPORTS_FETCH_TIMEOUT_SECONDS = float(env("IMPORTS_FETCH_TIMEOUT_SECONDS", "10"))
# Images on loopback, private and link-local addresses are refused (an imported post must not
# make the site fetch from its own network). Only the tests allow loopback, for a local server;
# private and link-local addresses stay refused even then.
IMPORTS_FETCH_ALLOW_LOOPBACK = False

# --- Exports prepared in the background (integrations.exports): the Ghost file and the
# subscribers CSV, kept in the database until they expire.
EXPORTS_KEEP_DAYS = int(env("EXPORTS_KEEP_DAYS", "7"))
# Up to this many subscribers the export page also offers the files as direct downloads.
EXPORTS_DIRECT_MAX_SUBSCRIBERS = int(env("EXPORTS_DIRECT_MAX_SUBSCRIBERS", "20000"))
# A running export whose task wrote nothing for this long is marked failed (worker killed).
EXPORTS_STALE_SECONDS = int(env("EXPORTS_STALE_SECONDS", "300"))
# The size of each stored piece of a file.
EXPORTS_CHUNK_BYTES = 1024 * 1024
# Editor notices (accounts.EditorNotice) keep an email about one occasion from going twice;
# the longest an occasion can recur is an export's life (EXPORTS_KEEP_DAYS) or a send's retries,
# so after this many days they are pruned (by each new notice, and by tidy_exports).
EDITOR_NOTICES_KEEP_DAYS = int(env("EDITOR_NOTICES_KEEP_DAYS", "30"))

# --- Background tasks: django-tasks with the database backend; `manage.py db_worker` runs them.
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}
# TASKS_BACKEND=rq moves the queue to Redis (django-tasks-rq; `python -m futureforward.worker`
# then runs RQ's worker): for sends too large for the PostgreSQL queue (README "Deploying").
TASKS_BACKEND = env("TASKS_BACKEND", "database")
if TASKS_BACKEND == "rq":
    _tasks_redis = env("TASKS_REDIS_URL") or env("REDIS_URL")
    if not _tasks_redis:
        raise ImproperlyConfigured("TASKS_BACKEND=rq needs TASKS_REDIS_URL or REDIS_URL.")
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    # A job that runs longer than this is stopped; a send's batch takes seconds.
    RQ_QUEUES = {"default": {"URL": _tasks_redis, "DEFAULT_TIMEOUT": 900}}
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
elif TASKS_BACKEND != "database":
    raise ImproperlyConfigured(
        f"TASKS_BACKEND is {TASKS_BACKEND!r}; it must be 'database' (the default) or 'rq'."
    )

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# The rich-text editor's own extensions (django-prose-editor's configurable preset): the
# "continue reading" divider (posts/richtext.py's MORE_DIVIDER) and the body's blocks. The
# module's address is resolved when a page is rendered, so it gets its hashed name in production.
from django.templatetags.static import static  # noqa: E402
from django.utils.functional import lazy  # noqa: E402
from django_prose_editor.config import html_tags  # noqa: E402

DJANGO_PROSE_EDITOR_EXTENSIONS = [
    {
        "js": [lazy(static, str)("js/editor-more.js")],
        "extensions": {"MoreDivider": html_tags(["hr"], {"hr": ["class"]})},
    },
    {
        # Body images (uploaded, pasted or dropped), the call-to-action button, the callout and
        # the poll's place. posts/richtext.py's sanitiser is the allow-list that counts.
        "js": [lazy(static, str)("js/editor-blocks.js")],
        "extensions": {
            "BodyFigure": html_tags(["figure", "figcaption", "img"], {"img": ["src", "alt"]}),
            "CallToAction": html_tags(["p", "a"], {"a": ["href"]}),
            "Callout": html_tags(["div"]),
            "PollSlot": html_tags(["div"]),
        },
    },
]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("DJANGO_MEDIA_ROOT", str(BASE_DIR / "media")))
# Post cover uploads: refused above these caps; stored at most MAX_EDGE px on the long side;
# WebP renditions at these widths feed srcset.
POSTS_IMAGE_MAX_BYTES = int(env("POSTS_IMAGE_MAX_MB", "10")) * 1024 * 1024
POSTS_IMAGE_MAX_PIXELS = 40_000_000
POSTS_IMAGE_MAX_EDGE = 2400
POSTS_IMAGE_WIDTHS = (480, 800, 1200, 1600)

# --- Media on S3-compatible storage (AWS S3, Cloudflare R2, MinIO, ...) when a bucket is named,
# so every web machine sees every upload. Credentials are read by boto3 from the standard
# AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY variables and never pass through Django settings.
if env("AWS_STORAGE_BUCKET_NAME"):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env("AWS_S3_ENDPOINT_URL") or None,
            "region_name": env("AWS_S3_REGION_NAME") or None,
            "custom_domain": env("AWS_S3_CUSTOM_DOMAIN") or None,
            "location": env("AWS_LOCATION", "media"),
            "addressing_style": env("AWS_S3_ADDRESSING_STYLE") or None,
            # Public images: plain URLs cache well; signed ones expire inside cached pages.
            "querystring_auth": env_bool("AWS_QUERYSTRING_AUTH", False),
            "default_acl": env("AWS_DEFAULT_ACL") or None,
            # Never replace an existing object: a re-upload gets a new name, so caches stay true.
            "file_overwrite": False,
            "object_parameters": {
                "CacheControl": env("AWS_S3_CACHE_CONTROL", "public, max-age=86400")
            },
        },
    }
# With media on local disk the app serves it itself, so `make serve` and a one-machine deployment
# work as they are; a bigger deployment uses S3 or lets the reverse proxy serve MEDIA_ROOT.
SERVE_MEDIA = env_bool("DJANGO_SERVE_MEDIA", not env("AWS_STORAGE_BUCKET_NAME"))

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# No script reads the CSRF cookie: pages carry the token (forms, and htmx's header on <body>).
CSRF_COOKIE_HTTPONLY = True
if SESSION_COOKIE_SECURE:
    # The __Host- prefix makes browsers refuse these cookies unless they are Secure, for the whole
    # site (Path=/) and bound to this exact host (no Domain): a sibling subdomain or a plain-HTTP
    # page can then neither set nor overwrite them. Renaming them logs everyone out once.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
# Set for a few seconds after any POST: "this reader has just acted" (posts/pagecache/fresh.py).
POSTS_FRESH_COOKIE_NAME = "__Host-ff_fresh" if SESSION_COOKIE_SECURE else "ff_fresh"
# Sessions in accounts' table, with the logged-in reader's id beside the data: one query loads
# both (accounts/sessions.py). django.contrib.sessions stays installed for its migrations, which
# the move from its table depends on.
SESSION_ENGINE = "accounts.sessions"
# Flash messages ride in the session rather than a third cookie of their own.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# --- HTTPS. On by default in production; plain-HTTP setups (`make serve`) turn it off.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
# Browsers only honour HSTS over HTTPS, so the default costs nothing on plain-HTTP loopback.
SECURE_HSTS_SECONDS = int(env("DJANGO_SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
# Preloading is hard to undo, so it is the operator's explicit choice.
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
# Behind a TLS-terminating proxy, name the header it sets, e.g. X-Forwarded-Proto. Only when the
# proxy always sets or strips it: otherwise a client could claim HTTPS for itself.
if env("DJANGO_SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = (
        "HTTP_" + env("DJANGO_SECURE_PROXY_SSL_HEADER").strip().upper().replace("-", "_"),
        "https",
    )

# --- Security headers. X-Content-Type-Options: nosniff, X-Frame-Options: DENY and
# Cross-Origin-Opener-Policy: same-origin are Django's defaults; the rest is set here.
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Other sites learn nothing about what a reader was reading.
SECURE_REFERRER_POLICY = "same-origin"
# Browser features no page here uses, switched off for the page and anything it embeds
# (futureforward/security.py sends it).
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "browsing-topics",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "hid",
        "interest-cohort",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}

# Content-Security-Policy (django-csp): scripts only from this site, or inline with the per-response
# nonce (JSON-LD data, the admin editor's import map); no inline handlers, no eval, no styles from
# attributes, nothing framed, no plugins, forms post only here.
from csp.constants import NONCE, NONE, SELF  # noqa: E402


def _media_origins() -> list[str]:
    """Where uploads are served from when they are not on this site: the bucket's address."""
    origins = env_list("DJANGO_CSP_MEDIA_ORIGINS")
    if env("AWS_S3_CUSTOM_DOMAIN"):
        origins.append(f"https://{env('AWS_S3_CUSTOM_DOMAIN')}")
    elif env("AWS_S3_ENDPOINT_URL"):
        endpoint = urlsplit(env("AWS_S3_ENDPOINT_URL"))
        origins.append(f"{endpoint.scheme}://{endpoint.netloc}")
        # Virtual-hosted addressing puts the bucket in front of the endpoint's host.
        origins.append(f"{endpoint.scheme}://*.{endpoint.netloc}")
    elif env("AWS_STORAGE_BUCKET_NAME"):
        bucket = env("AWS_STORAGE_BUCKET_NAME")
        origins.append(f"https://{bucket}.s3.amazonaws.com")
        if env("AWS_S3_REGION_NAME"):
            origins.append(f"https://{bucket}.s3.{env('AWS_S3_REGION_NAME')}.amazonaws.com")
    return origins


CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:", *_media_origins()],
        "font-src": [SELF],
        "connect-src": [SELF],
        "media-src": [SELF],
        "object-src": [NONE],
        "frame-src": [NONE],
        "worker-src": [SELF],
        "manifest-src": [SELF],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "upgrade-insecure-requests": SECURE_SSL_REDIRECT,
    },
}

# Logs go to stdout: one JSON object per line when DEBUG is off (DJANGO_LOG_FORMAT overrides),
# readable text in development. See futureforward/logs.py.
from futureforward.logs import TEXT_FORMAT, log_format  # noqa: E402

LOGGING_CONFIG = "futureforward.logs.configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "futureforward.logs.JsonFormatter"},
        "text": {"format": TEXT_FORMAT},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": log_format(),
        }
    },
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {"pgserver": {"level": "WARNING"}},
}

# --- Error reporting: Sentry (or a Sentry-compatible service) only when SENTRY_DSN is set.
if env("SENTRY_DSN"):
    import sentry_sdk

    sentry_sdk.init(
        dsn=env("SENTRY_DSN"),
        environment=env("SENTRY_ENVIRONMENT", "development" if DEBUG else "production"),
        release=env("SENTRY_RELEASE") or None,
        traces_sample_rate=float(env("SENTRY_TRACES_SAMPLE_RATE", "0")),
        # Readers' email addresses and IPs stay out of error reports.
        send_default_pii=False,
    )
