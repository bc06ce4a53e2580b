"""Authentication backends that load the logged-in reader with what nearly every page asks next.

Django loads the user from the session once per request. Voting, commenting and reacting then
ask whether the reader's email is verified (User.can_participate): one more query on every
logged-in request, unless the user query answers it too. And the user query itself is usually
not needed: the session's query loads the reader with it (accounts.sessions).
"""

from allauth.account import auth_backends
from django.contrib.auth import backends

from accounts.models import User
from accounts.sessions import reader_loaded_with_session


class LoadsVerifiedFlag:
    def get_user(self, user_id):
        user = reader_loaded_with_session(user_id)
        if user is None:
            user = User.objects.with_verified_flag().filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None


class ModelBackend(LoadsVerifiedFlag, backends.ModelBackend):
    """Django's email-and-password backend (editors confirming a sensitive action)."""


class AuthenticationBackend(LoadsVerifiedFlag, auth_backends.AuthenticationBackend):
    """allauth's backend (logins by code), which allauth prefers for the logins it makes."""
