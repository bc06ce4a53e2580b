"""Editor notices (accounts.EditorNotice): one email per occasion, and no pile of old rows."""

from datetime import timedelta

import pytest
from django.core.mail import EmailMessage
from django.utils import timezone

from accounts.models import EditorNotice
from accounts.services import send_editor_notice
from tests.factories import EditorFactory

pytestmark = pytest.mark.django_db


def test_sending_a_notice_clears_those_past_their_keeping_time(settings, mailoutbox):
    settings.EDITOR_NOTICES_KEEP_DAYS = 30
    editor = EditorFactory()
    EditorNotice.objects.create(
        editor=editor, key="review-digest:old", sent_at=timezone.now() - timedelta(days=31)
    )
    kept = EditorNotice.objects.create(
        editor=editor, key="review-digest:recent", sent_at=timezone.now() - timedelta(days=29)
    )

    def build():
        return EmailMessage(subject="Comments to review", body="Three.", to=[editor.email])

    assert send_editor_notice(editor=editor, key="review-digest:now", build=build)
    assert [m.subject for m in mailoutbox] == ["Comments to review"]
    assert set(EditorNotice.objects.values_list("key", flat=True)) == {
        "review-digest:recent",
        "review-digest:now",
    }
    # What is kept still stops a second email about its occasion.
    assert not send_editor_notice(editor=editor, key=kept.key, build=build)
    assert len(mailoutbox) == 1
