import pytest

from imports.models import Import
from imports.services import create_import, start_import


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def import_file(editor, django_capture_on_commit_callbacks):
    """Upload data as an export of kind, let its dry run happen; return the Import (checked or
    refused). Tasks run at once (the tests' immediate backend) when the transaction commits."""

    def upload(
        kind: str, data: bytes, *, filename: str = "export", newsletter=None, old_site_url: str = ""
    ) -> Import:
        with django_capture_on_commit_callbacks(execute=True):
            job = create_import(
                kind=kind,
                data=data,
                filename=filename,
                newsletter=newsletter,
                old_site_url=old_site_url,
                created_by=editor,
            )
        job.refresh_from_db()
        return job

    return upload


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Confirm a checked import and let it run; return it refreshed."""

    def go(job: Import) -> Import:
        with django_capture_on_commit_callbacks(execute=True):
            assert start_import(job=job)
        job.refresh_from_db()
        return job

    return go
