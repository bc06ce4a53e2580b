import pytest

from publication.models import Publication


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploads go to a fresh folder, so a test can see what was (not) stored."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def publication(db):
    """The one row, as the database has it now."""
    Publication.objects.clear_cache()
    return Publication.objects.current()
