"""Leases: how a worker holds the rows it works through, so that two workers never hold the
same row and a worker that dies gives its rows back by itself.

Used by the newsletter sends (`Delivery`) and the welcome series (`WelcomeProgress`). A leased
model has two fields: `claimed_by`, the worker holding the row ("" when none does), and
`available_at`, when the row is free for any worker again.

- A worker claims free rows with SELECT ... FOR UPDATE SKIP LOCKED, so workers claiming at the
  same moment take different rows, and moves their `available_at` to the end of its lease,
  NEWSLETTER_LEASE_SECONDS ahead. The end is computed in the database's time, so workers on
  machines whose clocks differ agree on when a lease is over.
- A worker killed while holding rows leaves them to whoever claims once the lease ends: what
  it held is all that can be sent again.
- A worker alive but slow renews its lease at half its length, on the rows it still owns
  (`LeaseKeeper`), and skips a row it no longer owns. As long as one row takes less than half
  a lease, it never works on a row whose lease another worker may already consider expired.
- Rows a worker gives up on (its mail server went away) it releases: free again at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import timedelta

from django.db import models, transaction
from django.db.models.functions import Now
from django.utils import timezone

from newsletter.conf import conf


def lease_end():
    """Return when a lease taken now ends, as an expression in the database's time."""
    return Now() + timedelta(seconds=conf("NEWSLETTER_LEASE_SECONDS"))


class LeasedQuerySet(models.QuerySet):
    """QuerySet methods for a model whose rows workers lease (`claimed_by`, `available_at`)."""

    def free(self):
        """Rows no worker holds and no delay holds back (database time)."""
        return self.filter(available_at__lte=Now())

    def held_by(self, worker_id: str):
        """Rows this worker holds (its lease may have run out meanwhile)."""
        return self.filter(claimed_by=worker_id)

    def claim(self, worker_id: str, *, limit: int) -> list[int]:
        """Lease up to `limit` of these rows, in this queryset's order, skipping rows another
        transaction has locked; return their ids. Within the caller's transaction when there
        is one, so the caller can go on with the rows under the same locks."""
        with transaction.atomic(using=self.db, savepoint=False):
            ids = list(
                self.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit]
            )
            if ids:
                self._with_ids(ids).update(claimed_by=worker_id, available_at=lease_end())
        return ids

    def renew_lease(self, worker_id: str) -> set[int]:
        """Extend the lease on those of these rows the worker still holds; return their ids."""
        with transaction.atomic(using=self.db):
            owned = set(self.held_by(worker_id).select_for_update().values_list("pk", flat=True))
            self._with_ids(owned).update(available_at=lease_end())
        return owned

    def release(self, worker_id: str, **changes) -> int:
        """Give back those of these rows the worker holds, free at once, saving `changes` with
        them; return how many it gave back."""
        return self.held_by(worker_id).update(claimed_by="", available_at=timezone.now(), **changes)

    def _with_ids(self, ids: Iterable[int]):
        # The rows themselves, without this queryset's filters, order or locking.
        return type(self)(self.model, using=self.db).filter(pk__in=ids)


class LeaseKeeper:
    """Keeps a worker's lease on the rows it works through one after another: when half the
    lease has passed, renews it on the row at hand and the rows after it, and says whether the
    worker still owns the row at hand."""

    def __init__(self, rows: LeasedQuerySet, ids: list[int], worker_id: str):
        """`rows`: the rows that may still be worked on (pending, waiting); `ids`: the claimed
        ids, in the order the worker takes them."""
        self.rows = rows
        self.ids = ids
        self.worker_id = worker_id
        # Half the lease: a single row takes far less than that, so the worker never works on
        # a row whose lease another worker could already consider expired.
        self.every = conf("NEWSLETTER_LEASE_SECONDS") / 2
        self.renew_at = time.monotonic() + self.every

    def owns(self, index: int) -> bool:
        """Return True if the worker still owns row `ids[index]`, renewing the lease first
        when it is due."""
        if time.monotonic() < self.renew_at:
            return True
        owned = self.rows.filter(pk__in=self.ids[index:]).renew_lease(self.worker_id)
        self.renew_at = time.monotonic() + self.every
        return self.ids[index] in owned
