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
