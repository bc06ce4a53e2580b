"""WSGI entry point, used by gunicorn."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "futureforward.settings")

application = get_wsgi_application()

# Before the first request, not in it (futureforward/warmup.py).
from futureforward.warmup import warm  # noqa: E402  (needs the settings get_wsgi_application set up)

warm()
