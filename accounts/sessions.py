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

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends import db
from django.core.exceptions import ValidationError
from django.db import connection, connections, router
from django.utils import timezone

# The session of the request whose user is being loaded (set around auth.get_user only).
_loading_for: ContextVar[SessionStore | None] = ContextVar("ff_loading_for", default=None)


@functools.cache
def _reader_fields() -> list[str]:
    from accounts.models import User

    return [field.attname for field in User._meta.concrete_fields]


@functools.cache
def _reader_pk_index() -> int:
    from accounts.models import User

    return _reader_fields().index(User._meta.pk.attname)


@functools.cache
def _load_sql() -> str:
    """The session, its reader's columns and whether the reader's email is verified, in one
    statement. Written out rather than built by the ORM for every request: building the
    equivalent queryset (select_related plus an Exists annotation) cost more Python time than
    the rest of the session load (see the README's performance section)."""
    from allauth.account.models import EmailAddress

    from accounts.models import Session, User

    name = connection.ops.quote_name
    reader = ", ".join(f"u.{name(field.column)}" for field in User._meta.concrete_fields)
    address = EmailAddress._meta
    addresses, owner = name(address.db_table), name(address.get_field("user").column)
    verified = f"EXISTS (SELECT 1 FROM {addresses} a WHERE a.{owner} = s.user_id AND a.verified)"  # noqa: S608  # nosec
    joined = (
        f"{name(Session._meta.db_table)} s LEFT JOIN {name(User._meta.db_table)} u "
        f"ON u.{name(User._meta.pk.column)} = s.user_id"
    )
    # Identifiers from the models' own metadata; the values are parameters.
    where = "s.session_key = %s AND s.expire_date > %s"
    return f"SELECT s.session_data, {verified}, {reader} FROM {joined} WHERE {where}"  # noqa: S608  # nosec


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

    def load(self):
        self._loaded_reader = None
        alias = router.db_for_read(self.model)
        with connections[alias].cursor() as cursor:
            cursor.execute(_load_sql(), [self.session_key, timezone.now()])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return {}
        data, verified, *reader = row
        if reader[_reader_pk_index()] is not None:  # else nobody stored, or they were deleted
            from accounts.models import User

            self._loaded_reader = User.from_db(alias, _reader_fields(), reader)
            self._loaded_reader.has_verified_email = verified
        return self.decode(data)

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
