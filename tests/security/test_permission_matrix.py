"""Who may do what, for every URL the site has, by GET and by POST, for six kinds of visitor;
and no GET, by anyone, changes anything.

The URL list comes from walking the resolver (tests/security/urlmap.py), and every pattern must
have an entry in EXPECTED or ADMIN_ACCESS: a URL added without saying who may use it fails
``test_every_url_has_an_expectation``. POSTs carry realistic data, so they reach the permission
checks instead of stopping at an empty form.

The six visitors: anonymous; logged in but never verified their email; a subscriber; a
subscriber banned from commenting; a staff editor with the editor permissions (posts, polls,
moderation, newsletter; not readers' accounts, groups or authenticators); a superuser.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import SubscriptionFactory, UserFactory
from tests.security.conftest import make_staff_editor
from tests.security.urlmap import Pattern, World, admin_model_key, all_patterns, fill, is_admin

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "unverified", "subscriber", "banned", "staff_editor", "superuser")
READERS = ("unverified", "subscriber", "banned")
LOGGED_IN = ("unverified", "subscriber", "banned", "staff_editor", "superuser")
STAFF = ("staff_editor", "superuser")


@dataclass(frozen=True)
class Redirect:
    """A redirect whose Location starts with prefix."""

    prefix: str

    def __repr__(self):
        return f"Redirect({self.prefix})"


class _Any:
    def __repr__(self):
        return "ANY"


ANY = _Any()


LOGIN = Redirect("/accounts/login/code/?next=")
ADMIN_LOGIN = Redirect("/admin/login/?next=")
HOME = Redirect("/")
REAUTH_CODE = Redirect("/accounts/reauthenticate/code/")
OK, BAD, FORBIDDEN, NOT_FOUND, NOT_ALLOWED = 200, 400, 403, 404, 405


def everyone(outcome):
    return dict.fromkeys(ROLES, outcome)


def roles(default=None, **outcomes):
    """Outcomes by role; ``readers=`` sets unverified, subscriber and banned, ``staff=`` both
    staff roles, ``logged_in=`` everyone but anonymous; explicit roles win."""
    table = dict.fromkeys(ROLES, default)
    for group, members in (("logged_in", LOGGED_IN), ("readers", READERS), ("staff", STAFF)):
        if group in outcomes:
            table.update(dict.fromkeys(members, outcomes.pop(group)))
    table.update(outcomes)
    missing = [role for role, outcome in table.items() if outcome is None]
    assert not missing, missing
    return table


# --- What each visitor gets, per URL name and method ---

EXPECTED = {
    # Reading is open to everyone; writing methods are refused.
    **{
        name: {"GET": everyone(OK), "POST": everyone(NOT_ALLOWED)}
        for name in [
            "posts:home",
            "posts:archive",
            "posts:tag",
            "posts:author",
            "posts:search",
            "posts:about",
            "posts:page",
            "posts:detail",
            "posts:feed-rss",
            "posts:feed-atom",
            "posts:sitemap",
            "posts:robots",
            "publication:theme",
            "publication:manifest",
            "comments:thread",
            "account_inactive",
            "account_reset_password_done",
            "account_reset_password_from_key_done",
        ]
    },
    "media": {"GET": everyone(NOT_FOUND), "POST": everyone(NOT_ALLOWED)},
    # Analytics: editors only, through the admin's own door; the open pixel answers anyone.
    **{
        name: {
            "GET": roles(anonymous=ADMIN_LOGIN, readers=ADMIN_LOGIN, staff=OK),
            "POST": roles(anonymous=ADMIN_LOGIN, readers=ADMIN_LOGIN, staff=NOT_ALLOWED),
        }
        for name in ["analytics:overview", "analytics:post", "analytics:send"]
    },
    "analytics:open": {"GET": everyone(OK), "POST": everyone(NOT_ALLOWED)},
    # The reader's own pages.
    "accounts:account": {
        "GET": roles(anonymous=LOGIN, logged_in=OK),
        "POST": roles(anonymous=LOGIN, logged_in=Redirect("/account/")),
    },
    "accounts:data-export": {
        "GET": roles(anonymous=LOGIN, logged_in=OK),
        "POST": everyone(NOT_ALLOWED),
    },
    "accounts:delete": {
        "GET": everyone(NOT_ALLOWED),
        "POST": roles(anonymous=LOGIN, logged_in=HOME),
    },
    # Subscribing: the form for strangers; one click for readers with a proven address; a code
    # first for a reader who never proved theirs.
    "accounts:subscribe": {
        "GET": roles(anonymous=OK, logged_in=HOME),
        "POST": roles(
            anonymous=Redirect("/accounts/login/code/confirm/"),
            unverified=Redirect("/accounts/confirm-email/"),
            default=Redirect("/account/"),
        ),
    },
    # Signed links from emails: the token, not the session, is the authority.
    "accounts:unsubscribe": {"GET": everyone(OK), "POST": everyone(OK)},
    "accounts:resubscribe": {"GET": everyone(NOT_ALLOWED), "POST": everyone(OK)},
    # A reader's referral link: remembered in the session, then the subscribe form.
    "accounts:referral": {
        "GET": everyone(Redirect("/subscribe/?ref=")),
        "POST": everyone(NOT_ALLOWED),
    },
    "comments:stop-replies": {"GET": everyone(OK), "POST": everyone(OK)},
    "newsletter:leave": {"GET": everyone(OK), "POST": everyone(OK)},
    "newsletter:manage": {
        "GET": everyone(OK),
        "POST": everyone(Redirect("/newsletter/manage/")),
    },
    "newsletter:unsubscribe-everything": {
        "GET": everyone(NOT_ALLOWED),
        "POST": everyone(Redirect("/newsletter/manage/")),
    },
    # The newsletter choice on the reader's own account page.
    "newsletter:account-lists": {
        "GET": everyone(NOT_ALLOWED),
        "POST": roles(anonymous=LOGIN, logged_in=Redirect("/account/")),
    },
    "integrations:confirm-subscription": {"GET": everyone(OK), "POST": everyone(OK)},
    # The Content API: reading is open to everyone (sessions play no part; a key only widens
    # what is read); a subscription needs a key with its scope, which no session is.
    **{
        name: {"GET": everyone(OK), "POST": everyone(NOT_ALLOWED)}
        for name in [
            "api:list_posts",
            "api:get_post",
            "api:list_tags",
            "api:list_authors",
            "api:list_newsletters",
        ]
    },
    # django-ninja's schema view answers any method with the schema; it changes nothing.
    "api:openapi-json": {"GET": everyone(OK), "POST": everyone(OK)},
    "api:api-root": {"GET": everyone(NOT_FOUND), "POST": everyone(NOT_FOUND)},
    "api:create_subscription": {"GET": everyone(NOT_ALLOWED), "POST": everyone(401)},
    "polls:email-vote": {
        "GET": everyone(Redirect("/p/matrix-post/?vote=")),
        "POST": everyone(Redirect("/p/matrix-post/#poll-")),  # the used token left behind
    },
    # Participating: logged in with a verified email; banned readers may not comment.
    "posts:thumbs-up": {
        "GET": everyone(NOT_ALLOWED),
        "POST": roles(
            anonymous=LOGIN, unverified=FORBIDDEN, default=Redirect("/p/matrix-post/#thumbs-up")
        ),
    },
    "polls:vote": {
        "GET": everyone(NOT_ALLOWED),
        "POST": roles(
            anonymous=FORBIDDEN, unverified=FORBIDDEN, default=Redirect("/p/matrix-post/#poll-")
        ),
    },
    "comments:list": {
        "GET": everyone(Redirect("/p/matrix-post/?comments_sort=")),
        "POST": everyone(NOT_ALLOWED),
    },
    "comments:create": {
        "GET": everyone(NOT_ALLOWED),
        "POST": roles(
            anonymous=FORBIDDEN,
            unverified=FORBIDDEN,
            banned=FORBIDDEN,
            default=Redirect("/p/matrix-post/#comment-"),
        ),
    },
    "comments:like": {
        "GET": everyone(NOT_ALLOWED),
        "POST": roles(
            anonymous=FORBIDDEN,
            unverified=FORBIDDEN,
            banned=FORBIDDEN,
            default=Redirect("/p/matrix-post/comments/"),
        ),
    },
    # The reply and report forms, one comment at a time (post pages link to them).
    "comments:reply": {
        "GET": roles(anonymous=LOGIN, unverified=FORBIDDEN, banned=FORBIDDEN, default=OK),
        "POST": everyone(NOT_ALLOWED),
    },
    "comments:report": {
        "GET": roles(anonymous=LOGIN, unverified=FORBIDDEN, banned=FORBIDDEN, default=OK),
        "POST": roles(
            anonymous=LOGIN,
            unverified=FORBIDDEN,
            banned=FORBIDDEN,
            default=Redirect("/p/matrix-post/comments/"),
        ),
    },
    # Someone else's comment: nobody but its author edits or deletes it, editors included
    # (they moderate in the admin instead).
    "comments:edit": {
        "GET": roles(anonymous=LOGIN, logged_in=FORBIDDEN),
        "POST": roles(anonymous=LOGIN, logged_in=FORBIDDEN),
    },
    "comments:delete": {
        "GET": everyone(NOT_ALLOWED),
        "POST": roles(anonymous=LOGIN, logged_in=FORBIDDEN),
    },
    "comments:reply-emails": {
        "GET": everyone(NOT_ALLOWED),
        "POST": roles(anonymous=LOGIN, logged_in=HOME),
    },
    # allauth: logging in is for strangers; the rest for the logged in.
    "account_login": {
        "GET": roles(anonymous=OK, logged_in=HOME),
        "POST": roles(anonymous=OK, logged_in=HOME),
    },
    "account_request_login_code": {
        "GET": roles(anonymous=OK, logged_in=HOME),
        "POST": roles(anonymous=OK, logged_in=HOME),
    },
    "account_confirm_login_code": {
        "GET": roles(anonymous=Redirect("/accounts/login/code/"), logged_in=HOME),
        "POST": roles(anonymous=Redirect("/accounts/login/code/"), logged_in=HOME),
    },
    "account_signup": {
        "GET": everyone(Redirect("/subscribe/")),
        "POST": everyone(Redirect("/subscribe/")),
    },
    "account_logout": {
        "GET": roles(anonymous=HOME, logged_in=OK),
        "POST": everyone(HOME),
    },
    "account_email": {
        "GET": roles(anonymous=LOGIN, logged_in=OK),
        "POST": roles(anonymous=LOGIN, logged_in=Redirect("/accounts/email/")),
    },
    "account_email_verification_sent": {
        "GET": roles(
            anonymous=Redirect("/accounts/login/"), logged_in=Redirect("/accounts/email/")
        ),
        "POST": roles(
            anonymous=Redirect("/accounts/login/"), logged_in=Redirect("/accounts/email/")
        ),
    },
    # Editors reauthenticate with their password; readers, who have none, with a code sent to
    # their verified address (allauth 65.22 and later); without one, not at all.
    "account_reauthenticate": {
        "GET": roles(anonymous=LOGIN, unverified=FORBIDDEN, readers=REAUTH_CODE, staff=OK),
        "POST": roles(anonymous=LOGIN, unverified=FORBIDDEN, readers=REAUTH_CODE, staff=OK),
    },
    "account_request_reauthentication_code": {
        "GET": roles(anonymous=LOGIN, unverified=FORBIDDEN, logged_in=OK),
        "POST": roles(anonymous=LOGIN, unverified=FORBIDDEN, logged_in=OK),
    },
    # Nothing to confirm until a code was requested.
    "account_confirm_reauthentication_code": {
        "GET": roles(anonymous=LOGIN, logged_in=REAUTH_CODE),
        "POST": roles(anonymous=LOGIN, logged_in=REAUTH_CODE),
    },
    "account_change_password": {
        "GET": roles(anonymous=LOGIN, readers=Redirect("/accounts/password/set/"), staff=OK),
        "POST": roles(anonymous=LOGIN, readers=Redirect("/accounts/password/set/"), staff=OK),
    },
    "account_set_password": {
        "GET": roles(anonymous=LOGIN, readers=OK, staff=Redirect("/accounts/password/change/")),
        "POST": roles(anonymous=LOGIN, readers=OK, staff=Redirect("/accounts/password/change/")),
    },
    "account_reset_password": {"GET": everyone(OK), "POST": everyone(OK)},
    "account_reset_password_from_key": {"GET": everyone(OK), "POST": everyone(OK)},
    # Two-factor authentication: editors only.
    "mfa_index": {
        "GET": roles(anonymous=LOGIN, readers=FORBIDDEN, staff=OK),
        "POST": roles(anonymous=LOGIN, readers=FORBIDDEN, staff=NOT_ALLOWED),
    },
    "mfa_authenticate": {
        "GET": roles(anonymous=Redirect("/accounts/login/"), logged_in=HOME),
        "POST": roles(anonymous=Redirect("/accounts/login/"), logged_in=HOME),
    },
    "mfa_reauthenticate": {
        "GET": roles(
            anonymous=LOGIN,
            unverified=FORBIDDEN,
            readers=REAUTH_CODE,
            staff=Redirect("/accounts/reauth"),
        ),
        "POST": roles(
            anonymous=LOGIN,
            unverified=FORBIDDEN,
            readers=REAUTH_CODE,
            staff=Redirect("/accounts/reauth"),
        ),
    },
    "mfa_activate_totp": {
        "GET": roles(
            anonymous=Redirect("/accounts/login/"),
            readers=FORBIDDEN,
            staff=Redirect("/accounts/reauthenticate/"),
        ),
        "POST": roles(
            anonymous=Redirect("/accounts/login/"),
            readers=FORBIDDEN,
            staff=Redirect("/accounts/reauthenticate/"),
        ),
    },
    "mfa_generate_recovery_codes": {
        "GET": roles(
            anonymous=Redirect("/accounts/login/"),
            readers=FORBIDDEN,
            staff=Redirect("/accounts/reauthenticate/"),
        ),
        "POST": roles(
            anonymous=Redirect("/accounts/login/"),
            readers=FORBIDDEN,
            staff=Redirect("/accounts/reauthenticate/"),
        ),
    },
    # Nothing to deactivate or show without an authenticator.
    **{
        name: {
            "GET": roles(anonymous=LOGIN, readers=FORBIDDEN, staff=NOT_FOUND),
            "POST": roles(anonymous=LOGIN, readers=FORBIDDEN, staff=post_outcome),
        }
        for name, post_outcome in [
            ("mfa_deactivate_totp", NOT_FOUND),
            ("mfa_view_recovery_codes", NOT_ALLOWED),
            ("mfa_download_recovery_codes", NOT_FOUND),
        ]
    },
}

# Data each POST carries, so it reaches the view's permission checks.
POST_DATA = {
    "accounts:subscribe": lambda world: {"email": "matrix.newcomer@example.com", "source": "x"},
    "accounts:account": lambda world: {"display_name": "A new name"},
    "accounts:delete": lambda world: {"confirm": "DELETE"},
    "posts:thumbs-up": lambda world: {"given": "1"},
    "polls:vote": lambda world: {"choice": str(world.choice.pk)},
    "comments:create": lambda world: {"body": "A thought worth sharing."},
    "comments:edit": lambda world: {"body": "Rewritten by someone else."},
    "comments:like": lambda world: {"action": "like"},
    "comments:report": lambda world: {"reason": "spam"},
    "comments:reply-emails": lambda world: {"receive": "on"},
    "newsletter:manage": lambda world: {"lists": [str(world.newsletter.pk)], "display_name": ""},
    "newsletter:account-lists": lambda world: {"lists": [str(world.newsletter.pk)]},
}

# --- The admin: staff only, and a staff editor only where their permissions reach ---

ALL_ACTIONS = {"changelist", "add", "history", "delete", "change", "object"}
VIEW = {"changelist", "history", "change", "object"}
# Actions the admin offers nobody for a model (read-only or singleton models).
NOBODY = {
    "django_tasks_database_dbtaskresult": {"add", "delete"},
    "newsletter_newslettersend": {"add", "delete"},
    "newsletter_delivery": {"add", "delete"},
    "integrations_webhookdelivery": {"add", "delete"},
    "comments_comment": {"add", "delete"},
    "comments_commentreport": {"add"},
    "comments_commentsettings": {"add", "delete"},
    "accounts_referral": {"add"},
    "accounts_referrer": {"add", "delete"},
    "publication_publication": {"add", "delete"},
}
READ_ONLY = {
    "accounts_referrer",
    "django_tasks_database_dbtaskresult",
    "newsletter_newslettersend",
    "newsletter_delivery",
    "integrations_webhookdelivery",
}
EDITOR_VIEW_ONLY = {"accounts_subscription"}
ADMIN_ACCESS = {
    # model: actions the staff editor may reach ("object" is /admin/app/model/<id>/)
    "auth_group": set(),
    "account_emailaddress": set(),
    "mfa_authenticator": set(),
    "django_tasks_database_dbtaskresult": set(),
    "accounts_user": set(),
    # Exporting every address takes accounts.export_subscribers, which viewing does not give.
    "accounts_subscription": {"changelist", "history", "change", "object"},
    "newsletter_newslettersend": VIEW | {"control"},
    "newsletter_delivery": VIEW,
    "polls_poll": VIEW | {"add", "results", "results_csv"},
    "posts_tag": VIEW | {"add"},
    "posts_page": set(),  # the About page: editors get it when given its permissions
    "posts_post": ALL_ACTIONS
    | {"newsletter_test", "newsletter_send", "newsletter_preview", "newsletter_preview_email"}
    | {"body_image"}
    | {"autosave", "discard_draft", "revisions", "compare", "restore"}
    | {"web_preview", "web_preview_page"},
    "comments_comment": VIEW,
    "comments_commentreport": VIEW,
    "comments_commenter": VIEW,
    "comments_commentsettings": VIEW,
    # The publication's settings: for whoever is given publication.change_publication.
    "publication_publication": set(),
    # The audience (newsletters, segments, subscriber tags): editors get it when given its
    # permissions.
    "newsletter_newsletter": set(),
    "newsletter_segment": set(),
    "newsletter_subscribertag": set(),
    # Referrals and milestones, likewise.
    "accounts_referral": set(),
    "accounts_referrer": set(),
    "newsletter_referralmilestone": set(),
    # Keys and webhooks reach outside the site: superusers only, unless given the permissions.
    "integrations_apikey": set(),
    "integrations_webhookendpoint": set(),
    "integrations_webhookdelivery": set(),
    # Imports create readers and posts in bulk: superusers, or whoever is given the permissions.
    "imports_import": set(),
}
# What an allowed staff GET returns, when it is not 200.
ADMIN_GET = {
    "object": Redirect("/admin/"),  # /admin/app/model/<id>/ redirects to its change page
    "newsletter_send": Redirect("/admin/newsletter/newslettersend/"),  # already sent
    # Autosave, dropping a draft and restoring a revision are POSTs only.
    "autosave": NOT_ALLOWED,
    "discard_draft": NOT_ALLOWED,
    "restore": NOT_ALLOWED,
    "compare": Redirect("/admin/posts/post/"),  # no revisions chosen: back to the list
    "comments_commentsettings:changelist": Redirect("/admin/comments/commentsettings/"),
    "publication_publication:changelist": Redirect("/admin/publication/publication/1/change/"),
    "django_tasks_database_dbtaskresult:change": OK,
    # A newsletter with subscribers is not deleted: the page sends the editor back to it.
    "newsletter_newsletter:delete": Redirect("/admin/newsletter/newsletter/"),
    # The live count answers POSTs (the segment form); a GET goes back to the list.
    "newsletter_segment:count": Redirect("/admin/newsletter/segment/"),
    # Preparing the filtered list's CSV is a POST (the permission is checked first: staff
    # without the export permission get a 403 whatever the method).
    "accounts_subscription:prepare_export": NOT_ALLOWED,
}
ADMIN_SITE = {
    # URL name: (GET for staff, POST for staff); non-staff are sent to log in
    "admin:index": (OK, OK),
    "admin:app_list": (OK, OK),
    "admin:password_change": (OK, OK),
    "admin:password_change_done": (OK, NOT_ALLOWED),
    "admin:notices": (OK, Redirect("/admin/notices/")),  # each editor's own email choices
    "admin:jsi18n": (OK, NOT_ALLOWED),
    "admin:autocomplete": (FORBIDDEN, NOT_ALLOWED),
    "admin:view_on_site": (Redirect("http://testserver/p/matrix-post/"),) * 2,
    "admin:<unnamed admin/(?P<url>.*)$>": (NOT_FOUND, NOT_FOUND),
}

# Site pages only some staff may open (the export needs accounts.export_subscribers); the
# method is checked before the permission. Reads are GET only, changes POST only.
ADMIN_SITE_BY_ROLE = {
    **{
        name: {
            "GET": {"staff_editor": FORBIDDEN, "superuser": OK},
            "POST": {"staff_editor": NOT_ALLOWED, "superuser": NOT_ALLOWED},
        }
        for name in (
            "admin:export",
            "admin:export-ghost",
            "admin:export-list",
            "admin:export-download",
        )
    },
    **{
        name: {
            "GET": {"staff_editor": NOT_ALLOWED, "superuser": NOT_ALLOWED},
            "POST": {"staff_editor": FORBIDDEN, "superuser": Redirect("/admin/export/")},
        }
        for name in ("admin:export-prepare", "admin:export-delete")
    },
}


def admin_action(pattern: Pattern) -> str:
    """Return the admin action of a model URL: changelist, add, change, … or "object"."""
    if pattern.name.startswith("admin:<unnamed"):
        return "object"
    key = admin_model_key(pattern)
    return pattern.name.removeprefix(f"admin:{key}_")


def admin_expectation(pattern: Pattern) -> dict[str, dict[str, object]]:
    if pattern.name == "admin:login":
        return {
            "GET": roles(anonymous=LOGIN, readers=FORBIDDEN, staff=Redirect("/admin/")),
            "POST": roles(anonymous=LOGIN, readers=FORBIDDEN, staff=OK),
        }
    if pattern.name == "admin:logout":
        # Logging out of the admin is a POST; anyone else is sent back to the admin's door.
        return {
            "GET": roles(default=Redirect("/admin/"), staff=NOT_ALLOWED),
            "POST": roles(default=Redirect("/admin/"), staff=OK),
        }
    if pattern.name in ADMIN_SITE_BY_ROLE:
        by_method = ADMIN_SITE_BY_ROLE[pattern.name]
        return {
            method: roles(default=ADMIN_LOGIN, **outcomes) for method, outcomes in by_method.items()
        }
    if pattern.name in ADMIN_SITE:
        staff_get, staff_post = ADMIN_SITE[pattern.name]
        return {
            "GET": roles(default=ADMIN_LOGIN, staff=staff_get),
            "POST": roles(default=ADMIN_LOGIN, staff=staff_post),
        }
    key = admin_model_key(pattern)
    action = (
        "password" if pattern.name == "admin:auth_user_password_change" else admin_action(pattern)
    )
    get = {}
    for role, allowed in (
        ("staff_editor", action in ADMIN_ACCESS[key]),
        ("superuser", action not in NOBODY.get(key, set())),
    ):
        if action in NOBODY.get(key, set()) or not allowed:
            get[role] = FORBIDDEN
        else:
            get[role] = ADMIN_GET.get(f"{key}:{action}", ADMIN_GET.get(action, OK))
    if action == "object":
        # /admin/app/model/<id>/ only redirects to the change page, which does the checking.
        get = dict.fromkeys(STAFF, Redirect(f"/admin/{pattern.route.split('/')[1]}/"))
    if action in {"control", "body_image"}:
        # pause/resume/cancel and the editor's image upload are POSTs only
        get = dict.fromkeys(STAFF, NOT_ALLOWED)
    # Staff POSTs where they may not GET are refused too; allowed POSTs run the admin's own
    # forms (ANY: whatever the admin answers, as long as it is neither a refusal nor a 5xx).
    post = {role: FORBIDDEN if outcome == FORBIDDEN else ANY for role, outcome in get.items()}
    if action in {"start", "fetch_images"}:
        # An import's buttons are POSTs only; the method is checked before the permission.
        get = dict.fromkeys(STAFF, NOT_ALLOWED)
        post = {
            "staff_editor": ANY if action in ADMIN_ACCESS[key] else FORBIDDEN,
            "superuser": ANY,
        }
    if action == "change":
        # Read-only records, and the subscriber list for editors: a change page to look at,
        # never to save.
        if key in READ_ONLY:
            post = dict.fromkeys(STAFF, FORBIDDEN)
        if key in EDITOR_VIEW_ONLY:
            post["staff_editor"] = FORBIDDEN
    return {"GET": roles(default=ADMIN_LOGIN, **get), "POST": roles(default=ADMIN_LOGIN, **post)}


def expectation(pattern: Pattern):
    if is_admin(pattern):
        return admin_expectation(pattern)
    return EXPECTED.get(pattern.name)


@pytest.fixture
def people(db):
    from comments.models import Commenter

    banned = SubscriptionFactory().user
    Commenter.objects.create(user=banned, is_banned=True, ban_reason="Spam")
    return {
        "anonymous": None,
        "unverified": UserFactory(verified=False),
        "subscriber": SubscriptionFactory().user,
        "banned": banned,
        "staff_editor": make_staff_editor(),
        "superuser": UserFactory(is_staff=True, is_superuser=True, password="editor-password-1"),
    }


# Tables a read may touch: the session (a flash message read, a login in progress), the
# cache table (rate limits, cached fragments) and the rate-limit counters (the Content API).
# Anything else changing on a GET is a bug.
BOOKKEEPING_TABLES = ("accounts_session", "ff_cache", "accounts_ratelimit")


def data_writes(queries) -> list[str]:
    """Return the statements in queries that changed the site's data."""
    return [
        query["sql"][:120]
        for query in queries.captured_queries
        if query["sql"].lstrip().split(" ", 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}
        and not any(f'"{table}"' in query["sql"] for table in BOOKKEEPING_TABLES)
    ]


def outcome_of(response):
    if response.status_code in {HTTPStatus.FOUND, HTTPStatus.MOVED_PERMANENTLY}:
        return response["Location"]
    return response.status_code


def matches(expected, response) -> bool:
    if expected is ANY:
        return response.status_code < 500 and response.status_code != HTTPStatus.FORBIDDEN
    if isinstance(expected, Redirect):
        return response.status_code == HTTPStatus.FOUND and response["Location"].startswith(
            expected.prefix
        )
    return response.status_code == expected


def test_every_url_has_an_expectation():
    missing = [str(p) for p in all_patterns() if expectation(p) is None]
    assert missing == [], f"Say who may use these URLs in test_permission_matrix: {missing}"


@pytest.mark.parametrize("pattern", all_patterns(), ids=str)
def test_each_visitor_gets_what_they_should_and_nothing_more(pattern, people, settings):
    # Admin actions may schedule newsletter tasks for later; the dummy backend accepts that.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    expected = expectation(pattern)
    assert expected is not None, f"No expectation for {pattern}"
    world = World()
    path = fill(pattern, world.kwargs(pattern))
    wrong = []
    clients = {role: Client() for role in ROLES}
    for role, client in clients.items():
        if people[role] is not None:
            client.force_login(people[role])
    # GETs first: a POST may end the session (logging out, deleting the account).
    for method in ("GET", "POST"):
        for role in ROLES:
            client = clients[role]
            if method == "GET":
                with CaptureQueriesContext(connection) as queries:
                    response = client.get(path)
                writes = data_writes(queries)
                if writes:
                    wrong.append(f"GET {path} as {role} changed data: {writes}")
            else:
                data = POST_DATA.get(pattern.name, lambda world: {})(world)
                response = client.post(path, data)
            want = expected[method][role]
            if not matches(want, response):
                wrong.append(
                    f"{method} {path} as {role}: want {want!r}, got {outcome_of(response)}"
                )
    assert wrong == [], "\n".join(wrong)
