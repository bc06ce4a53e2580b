"""Subscribing starts allauth's login by code without touching the account.

The subscribe request must cost the same whether the address has an account or not, or its
answer time tells which (issue 18). So the request neither reads nor writes the account: it
makes the code, keeps it in the browser's session in allauth's own login-by-code state, and
enqueues a task (accounts.tasks.subscribe_and_send_code) that makes or finds the account and
emails the code. allauth's confirm page then needs the account, which the stored login does not
name yet: attach_account() fills it in from the address, once the task has made it.

This uses allauth's internal login stages (as accounts.views already does for clear_login);
tests/accounts/test_subscribe.py and tests/security/test_subscribe_timing.py cover the whole
path, so an allauth upgrade that changes them fails there first.
"""

# Private: allauth 65 has no public way to start a login by code for an account that does not
# exist yet, or to stash and restore that login in the session (see the docstring above).
from allauth.account.internal.flows.login_by_code import LoginCodeVerificationProcess
from allauth.account.internal.stagekit import stash_login, unstash_login
from allauth.account.models import Login
from allauth.account.stages import LoginByCodeStage, LoginStageController

from accounts.models import User, normalize_email

# Marks a login by code started by subscribing, whose account attach_account() looks up.
DEFERRED = "ff_deferred_account"


def start(request, email: str) -> str:
    """Start a login by code for email in this browser and return the code, for the task to
    send. The same work for every address: nothing here asks whether it has an account."""
    login = Login(user=None, email=email)
    login.state["stages"] = {"current": LoginByCodeStage.key}
    stage = LoginByCodeStage(LoginStageController(request, login), request, login)
    stage.state.update(LoginCodeVerificationProcess.initial_state(user=None, email=email))
    stage.state["initiated_by_user"] = True
    stage.state[DEFERRED] = True
    process = LoginCodeVerificationProcess(stage=stage)
    code = process.generate_code()
    process.add_sent_message({"email": email, "recipient": email})
    process.persist()
    return code


def attach_account(request) -> None:
    """Name the account in this browser's pending login started by start(), if it exists yet.

    The same work for either answer (one lookup, the session written either way), so the
    confirm page does not tell a known address from a new one either, even before the task ran.
    """
    login = unstash_login(request, peek=True)
    if login is None or login.user is not None:
        return
    state = login.state.get("stages", {}).get(LoginByCodeStage.key, {}).get("data", {})
    if not state.get(DEFERRED) or not state.get("email"):
        return
    login.user = User.objects.filter(email=normalize_email(state["email"])).first()
    stash_login(request, login)
