"""The import pages are well-formed HTML with no id used twice, in every state."""

import re

import pytest

from imports.models import Import
from tests.test_valid_html import problems

pytestmark = pytest.mark.django_db

REPORT = [
    {
        "what": "post",
        "where": "posts.csv line 2",
        "key": "a-post",
        "action": "create",
        "message": "new post (published).",
    },
    {
        "what": "subscriber",
        "where": "line 3",
        "key": "x@example",
        "action": "problem",
        "message": "An email address needs a full domain name.",
    },
]


@pytest.mark.parametrize("status", [s for s, _label in Import.Status.choices])
def test_the_import_pages_are_valid_html(editor_client, editor, status):
    job = Import.objects.create(
        kind="substack",
        filename="export.zip",
        data=b"x",
        status=status,
        created_by=editor,
        counts={"post": {"create": 1}, "subscriber": {"problem": 1}},
        report=REPORT,
        progress_total=2,
        progress_done=1,
        error="The file is not a zip file." if status == "refused" else "",
    )
    for path in [
        "/admin/imports/import/add/",
        "/admin/imports/import/",
        f"/admin/imports/import/{job.pk}/change/",
        f"/admin/imports/import/{job.pk}/change/?show=problem",
    ]:
        response = editor_client.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert problems(html) == [], path
        ids = re.findall(r'\sid="([^"]+)"', html)
        assert sorted({i for i in ids if ids.count(i) > 1}) == [], path
