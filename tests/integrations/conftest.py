import pytest

from integrations.models import ApiKey
from integrations.services import create_api_key


@pytest.fixture
def make_key(db):
    """Return a function making a live API key with the given scopes: (row, key in full)."""

    def make(*scopes, name="Partner site"):
        row = ApiKey(name=name, scopes=list(scopes))
        return row, create_api_key(key=row, created_by=None)

    return make


@pytest.fixture
def receiver():
    from tests.integrations.receiver import Receiver

    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture
def loopback_hooks(settings):
    """Webhooks may reach the test receiver on 127.0.0.1, quickly, and retry at once."""
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    settings.WEBHOOK_RETRY_SECONDS = 0
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5


@pytest.fixture
def db_tasks(settings):
    """The real task queue: tasks wait in the database until run_worker() runs them."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }


def run_worker() -> None:
    """Run every task that is due, retries included, in this process, then return."""
    from django.core.management import call_command

    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)
