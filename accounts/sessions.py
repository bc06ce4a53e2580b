"""The session engine (SESSION_ENGINE): Django's database sessions, kept in accounts' Session
table with the logged-in reader's id beside the data, so one query loads the session and the
reader together.

Django's own path is two round trips on every logged-in request: the session, then the user
(auth.get_user asks the backend for the id it finds in the session). Here the session query
joins the reader in; accounts.middleware.AuthenticationMiddleware still runs Django's
auth.get_user, with every check it makes (the backend named in the session, the password hash
that logs other sessions out after a password change, inactive readers refused), and our
backends (accounts.backends) take the reader from the session instead of querying again when
it is the one the session names.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends import db
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.utils import timezone

# The session of the request whose user is being loaded (set around auth.get_user only).
_loading_for: ContextVar[SessionStore | None] = ContextVar("ff_loading_for", default=None)


def reader_id(data: dict) -> int | None:
    """Return the id of the reader logged in according to session data, or None."""
    from accounts.models import User

    value = data.get(SESSION_KEY)
    if value is None:
        return None
    try:
        return User._meta.pk.to_python(value)
    except (ValidationError, TypeError, ValueError):
        return None


class SessionStore(db.SessionStore):
    """Database sessions that load their reader in the same query.

    Named SessionStore like Django's on purpose: the data's signing salt is built from the class
    name, so sessions saved by django.contrib.sessions before the move still decode here.
    """

    _loaded_reader = None

    @classmethod
    def get_model_class(cls):
        from accounts.models import Session

        return Session

    def _get_session_from_db(self):
        self._loaded_reader = None
        try:
            session = self.model.objects.with_reader().get(
                session_key=self.session_key, expire_date__gt=timezone.now()
            )
        except (self.model.DoesNotExist, SuspiciousOperation) as error:
            if isinstance(error, SuspiciousOperation):
                logger = logging.getLogger(f"django.security.{error.__class__.__name__}")
                logger.warning(str(error))
            self._session_key = None
            return None
        reader = session.user  # joined: None when no reader is stored (or they were deleted)
        if reader is not None:
            reader.has_verified_email = session.reader_verified
            self._loaded_reader = reader
        return session

    def loaded_reader(self, user_id) -> object | None:
        """Return the reader loaded with this session if they are user_id, else None (nobody
        stored yet, or the session's login changed since it was loaded)."""
        reader = self._loaded_reader
        if reader is None or str(reader.pk) != str(user_id):
            return None
        return reader

    def create_model_instance(self, data):
        session = super().create_model_instance(data)
        session.user_id = reader_id(data)
        return session

    async def acreate_model_instance(self, data):
        session = await super().acreate_model_instance(data)
        session.user_id = reader_id(data)
        return session


@contextmanager
def loading_user_for(session) -> Iterator[None]:
    """While auth.get_user runs for a request, let our backends find the reader its session
    query loaded (reader_loaded_with_session)."""
    token = _loading_for.set(session if isinstance(session, SessionStore) else None)
    try:
        yield
    finally:
        _loading_for.reset(token)


def reader_loaded_with_session(user_id):
    """Return the reader with user_id if the session being authenticated loaded them, else
    None (the backend then queries, as Django's does)."""
    session = _loading_for.get()
    return session.loaded_reader(user_id) if session is not None else None
