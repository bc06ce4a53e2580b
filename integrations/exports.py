"""Exports prepared in the background: the Ghost file or the subscribers CSV written by a task
into the database, offered on the export page until they expire.

A large publication cannot be exported inside a web request (a sync gunicorn worker is killed
after GUNICORN_TIMEOUT even while it streams), so an editor asks for the file, a task worker
writes it, and the editor who asked gets an email with a link to the export page.

The file goes into PreparedExportChunk rows of EXPORTS_CHUNK_BYTES each, written as the
generators of the direct downloads yield it, so the worker never holds more than one piece.
Each piece is committed with a heartbeat on the export; the export becomes READY only after
the last piece. An export whose task went quiet for EXPORTS_STALE_SECONDS is shown as stopped
by the page as soon as it reads it, and marked failed, its pieces deleted, by tidy(). tidy()
runs in the task worker only (never on a visit of the page, which writes nothing): at the start
of every export task, as a task of its own when an export is asked for and when one finishes,
and from `manage.py tidy_exports` for cron.

Part of the subscriber list (its "Export CSV (this list)" above EXPORTS_DIRECT_MAX_SUBSCRIBERS)
is prepared the same way; its filters are stored as the list's query string and checked again
by the task (integrations.subscriber_list).
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterator

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, reset_queries, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from accounts.admin import may_export_subscribers
from accounts.models import Subscription, User
from accounts.services import (
    ExportColumn,
    export_rows,
    prune_editor_notices,
    send_editor_notice,
)
from integrations.ghost_export import export_filename, ghost_export_chunks
from integrations.models import STALLED_ERROR, PreparedExport, PreparedExportChunk
from integrations.subscriber_list import ListFilterError, subscriber_list
from newsletter import audience
from publication.models import Publication

logger = logging.getLogger(__name__)


class _Gone(Exception):
    """The export was deleted by hand, or marked failed, while its task was writing it."""


# --- Asking for an export ---------------------------------------------------------------------


def filename_for(kind: str) -> str:
    """Return the download's file name, dated the day it is asked for."""
    if kind == PreparedExport.Kind.GHOST:
        return export_filename()
    if kind == PreparedExport.Kind.LIST:
        return f"subscribers-list-{timezone.localdate().isoformat()}.csv"
    return f"subscribers-{timezone.localdate().isoformat()}.csv"


def prepare_export(
    *, kind: str, user: User, list_query: str = "", list_description: str = ""
) -> tuple[PreparedExport, bool]:
    """Queue an export of this kind (for LIST, of the subscriber list with list_query's
    filters) for user; return it and True, or, when the same file is already waiting or being
    written, that one and False (so two clicks make one file)."""
    if kind not in PreparedExport.Kind.values:
        raise ValueError(kind)
    same = {"kind": kind, "list_query": list_query if kind == PreparedExport.Kind.LIST else ""}
    # A stalled export of the same file would hold its place for ever: mark it failed here
    # (one UPDATE, in the POST that asks); the tidy task deletes its pieces.
    _mark_stalled_failed(PreparedExport.objects.filter(**same))
    try:
        with transaction.atomic():
            export = PreparedExport.objects.create(
                **same,
                list_description=list_description if kind == PreparedExport.Kind.LIST else "",
                requested_by=user,
                filename=filename_for(kind),
            )
    except IntegrityError:
        # The partial unique index allows one busy export a file: someone was quicker.
        busy = PreparedExport.objects.busy().filter(**same).first()
        if busy is None:  # it finished between our insert and this read: try once more
            return prepare_export(
                kind=kind, user=user, list_query=list_query, list_description=list_description
            )
        return busy, False
    from integrations.tasks import tidy_exports as tidy_exports_task
    from integrations.tasks import write_export as write_export_task

    def enqueue():
        write_export_task.enqueue(export_id=export.pk)
        tidy_exports_task.enqueue()

    transaction.on_commit(enqueue)
    return export, True


def delete_export(*, export: PreparedExport) -> None:
    """Delete an export and its file (a task still writing it stops at its next piece)."""
    with transaction.atomic():
        PreparedExportChunk.objects.filter(export=export).delete()
        PreparedExport.objects.filter(pk=export.pk).delete()


def _mark_stalled_failed(exports, now=None) -> list[int]:
    """Mark the stalled exports among exports failed; return their ids."""
    now = now or timezone.now()
    marked = []
    for export in exports.stalled(now):
        if PreparedExport.objects.filter(
            pk=export.pk, status=PreparedExport.Status.RUNNING, heartbeat_at=export.heartbeat_at
        ).update(status=PreparedExport.Status.FAILED, finished_at=now, error=str(STALLED_ERROR)):
            logger.warning("prepared export %s stalled: marked failed", export.pk)
            marked.append(export.pk)
    return marked


def tidy(*, now=None) -> dict[str, int]:
    """Mark exports whose task went quiet as failed, delete failed exports' leftover pieces and
    expired exports with their files, and prune old editor notices; return what was done.

    Runs in the task worker and from `manage.py tidy_exports`, never in a page request."""
    now = now or timezone.now()
    stalled = _mark_stalled_failed(PreparedExport.objects.all(), now)
    leftovers, _by_model = PreparedExportChunk.objects.filter(
        export__status=PreparedExport.Status.FAILED
    ).delete()
    expired = list(PreparedExport.objects.expired(now).values_list("pk", flat=True))
    if expired:
        with transaction.atomic():
            PreparedExportChunk.objects.filter(export_id__in=expired).delete()
            PreparedExport.objects.filter(pk__in=expired).delete()
    return {
        "stalled": len(stalled),
        "pieces": leftovers,
        "expired": len(expired),
        "notices": prune_editor_notices(now=now),
    }


# --- Writing it (the task) ---------------------------------------------------------------------


class _PieceWriter:
    """Collects encoded text and stores it in pieces of EXPORTS_CHUNK_BYTES, each committed
    together with the export's size, count and heartbeat."""

    def __init__(self, export_id: int):
        self.export_id = export_id
        self.parts: list[bytes] = []
        self.buffered = 0
        self.position = 0
        self.size = 0
        self.rows = 0

    def count_row(self) -> None:
        self.rows += 1

    def write(self, text: str) -> None:
        data = text.encode()
        self.parts.append(data)
        self.buffered += len(data)
        if self.buffered >= settings.EXPORTS_CHUNK_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self.parts:
            return
        data = b"".join(self.parts)
        self.parts, self.buffered = [], 0
        try:
            with transaction.atomic():
                alive = PreparedExport.objects.filter(
                    pk=self.export_id, status=PreparedExport.Status.RUNNING
                ).update(size=F("size") + len(data), rows=self.rows, heartbeat_at=timezone.now())
                if not alive:
                    raise _Gone
                PreparedExportChunk.objects.create(
                    export_id=self.export_id, position=self.position, data=data
                )
        except IntegrityError as exc:  # deleted between the update and the insert
            raise _Gone from exc
        self.position += 1
        self.size += len(data)
        # With DEBUG on, Django keeps every query with its parameters (here a MiB each) until
        # reset: without this a development worker would hold the whole file after all.
        reset_queries()


class _Line:
    """A file-like object whose write() returns the line, so csv.writer yields text."""

    def write(self, value: str) -> str:
        return value


def subscriber_csv_columns() -> list[ExportColumn]:
    """The columns the subscriber list's CSV adds to accounts' own: newsletters and tags."""
    return [
        ExportColumn("newsletters", audience.newsletter_names_by_reader),
        ExportColumn("tags", audience.tag_names_by_reader),
    ]


def subscriber_csv_chunks(*, queryset=None, columns=None, on_row=None) -> Iterator[str]:
    """Yield the CSV of the subscribers in queryset (all of them by default), line by line,
    as the subscriber list exports it."""
    writer = csv.writer(_Line())
    rows = export_rows(
        Subscription.objects.all() if queryset is None else queryset,
        columns=subscriber_csv_columns() if columns is None else columns,
    )
    yield writer.writerow(next(rows))
    for row in rows:
        yield writer.writerow(row)
        if on_row is not None:
            on_row()


def _source_of(export: PreparedExport):
    """Return (how many subscribers the file holds, a function that yields its text given the
    writer); raise ListFilterError if part of the list was asked for with filters that no
    longer hold."""
    if export.kind == PreparedExport.Kind.GHOST:
        return Subscription.objects.count(), lambda writer: ghost_export_chunks(
            on_member=writer.count_row
        )
    if export.kind == PreparedExport.Kind.LIST:
        listing = subscriber_list(query=export.list_query, user=export.requested_by)
        return listing.queryset.count(), lambda writer: subscriber_csv_chunks(
            queryset=listing.queryset, columns=listing.export_columns(), on_row=writer.count_row
        )
    return Subscription.objects.count(), lambda writer: subscriber_csv_chunks(
        on_row=writer.count_row
    )


def _fail(export_id: int, error: str) -> None:
    PreparedExportChunk.objects.filter(export_id=export_id).delete()
    PreparedExport.objects.filter(pk=export_id, status=PreparedExport.Status.RUNNING).update(
        status=PreparedExport.Status.FAILED, finished_at=timezone.now(), error=error[:2000]
    )


def write_export(*, export_id: int) -> str:
    """Write a queued export's file; return its status (or "gone" if it no longer exists)."""
    try:
        tidy()
    except Exception:  # an old file left in place must not stop a new one
        logger.exception("tidying prepared exports failed")
    now = timezone.now()
    claimed = PreparedExport.objects.filter(
        pk=export_id, status=PreparedExport.Status.QUEUED
    ).update(status=PreparedExport.Status.RUNNING, started_at=now, heartbeat_at=now)
    if not claimed:  # deleted by hand, or another worker has it
        return "gone"
    export = PreparedExport.objects.select_related("requested_by").get(pk=export_id)
    writer = _PieceWriter(export_id)
    try:
        total, text_of = _source_of(export)
        PreparedExport.objects.filter(pk=export_id).update(rows_total=total)
        for text in text_of(writer):
            writer.write(text)
        writer.flush()
        finished = PreparedExport.objects.filter(
            pk=export_id, status=PreparedExport.Status.RUNNING
        ).update(
            status=PreparedExport.Status.READY,
            finished_at=timezone.now(),
            heartbeat_at=timezone.now(),
            size=writer.size,
            rows=writer.rows,
        )
        if not finished:
            raise _Gone
    except _Gone:
        PreparedExportChunk.objects.filter(export_id=export_id).delete()
        return "gone"
    except ListFilterError as exc:
        logger.warning("prepared export %s refused its list's filters: %s", export_id, exc)
        _fail(
            export_id,
            gettext("%(problem)s Filter the subscriber list again and export it from there.")
            % {"problem": exc},
        )
    except Exception as exc:
        logger.exception("prepared export %s failed", export_id)
        _fail(
            export_id,
            gettext("The file could not be written: %(problem)s. Prepare the export again.")
            % {"problem": exc},
        )
    export.refresh_from_db()
    from integrations.tasks import tidy_exports as tidy_exports_task

    transaction.on_commit(tidy_exports_task.enqueue)
    try:
        notify_requester(export=export)
    except Exception:  # the file is ready whether or not the mail server answers
        logger.exception("could not email the editor about prepared export %s", export_id)
    return export.status


# --- Reading it --------------------------------------------------------------------------------


def file_pieces(export: PreparedExport) -> Iterator[bytes]:
    """Yield a ready export's file, one stored piece at a time."""
    pieces = (
        PreparedExportChunk.objects.filter(export=export)
        .order_by("position")
        .values_list("data", flat=True)
    )
    for data in pieces.iterator(chunk_size=1):
        yield bytes(data)


# --- The email ---------------------------------------------------------------------------------


def notify_requester(*, export: PreparedExport) -> bool:
    """Email the editor who asked that their export is ready (or failed), once, with a link to
    the export page; never the file, never a link that works without signing in. Return True
    if this call sent it."""
    editor = export.requested_by
    if editor is None or not editor.email or not may_export_subscribers(editor):
        return False
    if export.status not in {PreparedExport.Status.READY, PreparedExport.Status.FAILED}:
        return False
    return send_editor_notice(
        editor=editor,
        key=f"export-{export.status}:{export.pk}",
        build=lambda: _notice_email(editor=editor, export=export),
    )


def _notice_email(*, editor: User, export: PreparedExport) -> EmailMessage:
    site_name = Publication.objects.current().name
    context = {
        "editor": editor,
        "export": export,
        "export_url": settings.SITE_URL + reverse("admin:export"),
        "keep_days": settings.EXPORTS_KEEP_DAYS,
        "site_name": site_name,
    }
    subject = " ".join(
        render_to_string("integrations/email/export_ready_subject.txt", context).split()
    )
    return EmailMessage(
        subject=f"[{site_name}] {subject}",
        body=render_to_string("integrations/email/export_ready_message.txt", context),
        to=[editor.email],
    )
