"""Work a web process would otherwise do in its first request, done while it loads instead.

A gunicorn worker accepts requests only once the WSGI application is loaded, so what is done
here never makes a reader wait. Without it a fresh worker's first request imported every view
(the URLconf, the API's schemas) and compiled the templates it met: about half a second in
which that worker answered nothing. Workers are replaced now and then (gunicorn's
max_requests), and when two were replaced at once every request in flight waited for it.

With gunicorn's preload_app (futureforward/gunicorn_conf.py) this runs once, in the master,
and every worker starts from a copy. So it must leave nothing a fork cannot share: no database
connection stays open and no thread is started.
"""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import get_template
from django.urls import get_resolver

logger = logging.getLogger(__name__)


def warm() -> int:
    """Import every view and compile this project's templates; return how many templates."""
    resolver = get_resolver()
    resolver.url_patterns  # noqa: B018  (imports the URLconf and, with it, every view)
    resolver.reverse_dict  # noqa: B018  (built once per process on the first reverse())
    compiled = 0
    for directory in settings.TEMPLATES[0]["DIRS"]:
        root = Path(directory)
        for path in sorted(root.rglob("*.html")) + sorted(root.rglob("*.txt")):
            try:
                get_template(path.relative_to(root).as_posix())
            except (TemplateDoesNotExist, TemplateSyntaxError):
                # A broken template fails where it is used, with its own error page; it must
                # not keep the site from starting.
                logger.warning("warm-up: could not compile %s", path, exc_info=True)
                continue
            compiled += 1
    connections.close_all()  # nothing above should open one; a fork must not share it
    return compiled
