"""Every URL the site answers, found by walking the resolver, with real arguments to call it.

Tests iterate over ``all_patterns()`` rather than a hand-written list, so a URL added later is
tested (or makes the tests fail until someone says what it should do) without anyone
remembering to add it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.models import Referral, Referrer
from accounts.referrals import code_for
from accounts.services import unsubscribe_token
from comments.models import Commenter, CommentReport, CommentSettings
from comments.services import stop_token
from imports.models import Import
from integrations.models import (
    ApiKey,
    PreparedExport,
    PreparedExportChunk,
    WebhookDelivery,
    WebhookEndpoint,
)
from integrations.services import confirm_token, create_api_key, create_endpoint
from newsletter.links import leave_token, manage_token
from newsletter.models import (
    Delivery,
    Newsletter,
    NewsletterSend,
    ReferralMilestone,
    Segment,
    SubscriberTag,
    WelcomeStep,
)
from polls.services import vote_url
from posts.models import Page, PostRevision
from publication.models import Publication
from tests.factories import (
    CommentFactory,
    PollFactory,
    PostFactory,
    SubscriptionFactory,
    TagFactory,
    UserFactory,
)


@dataclass(frozen=True)
class Pattern:
    """One URL pattern: its full route (for messages), its name (admin:…, accounts:…) and the
    names of its arguments."""

    route: str
    name: str
    arguments: tuple[str, ...]

    def __str__(self):
        return self.name


def _walk(resolver, prefix="", namespace=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = namespace + (f"{entry.namespace}:" if entry.namespace else "")
            yield from _walk(entry, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            name = namespace + entry.name if entry.name else f"{namespace}<unnamed {route}>"
            regex = entry.pattern.regex.pattern
            arguments = tuple(re.findall(r"\(\?P<(\w+)>", regex)) or tuple(
                re.findall(r"<(?:\w+:)?(\w+)>", str(entry.pattern))
            )
            yield Pattern(route=route, name=name, arguments=arguments)


def all_patterns() -> list[Pattern]:
    """Every URL pattern of the project, in resolver order (a name may appear once)."""
    seen: dict[str, Pattern] = {}
    for pattern in _walk(get_resolver()):
        seen.setdefault(pattern.name, pattern)
    return list(seen.values())


def is_admin(pattern: Pattern) -> bool:
    return pattern.name.startswith("admin:")


class World:
    """One of everything a URL can point at, owned by people outside the roles under test, so
    a role that gets in was let in by a rule and not by owning the thing."""

    def __init__(self):
        self.writer = SubscriptionFactory(user__display_name="Writer").user
        self.author = UserFactory(is_staff=True, display_name="Columnist")
        self.tag = TagFactory(name="Cities", slug="cities")
        self.post = PostFactory(slug="matrix-post", title="Matrix post")
        self.post.tags.add(self.tag)
        self.post.authors.add(self.author)
        self.poll = PollFactory(post=self.post)
        self.choice = self.poll.choices.first()
        self.comment = CommentFactory(post=self.post, author=self.writer, body="A comment.")
        self.report = CommentReport.objects.create(
            comment=self.comment, reporter=self.author, reason="spam"
        )
        self.commenter = Commenter.objects.create(user=self.writer)
        self.settings = CommentSettings.load()
        self.group = Group.objects.create(name="Editors")
        self.revision = PostRevision.objects.create(
            post=self.post, version=1, title=self.post.title, author=self.author
        )
        self.send = NewsletterSend.objects.create(post=self.post, recipients_count=1)
        self.delivery = Delivery.objects.create(send=self.send, user=self.writer)
        self.newsletter = Newsletter.objects.default()
        self.segment = Segment.objects.create(name="Matrix segment", conditions=[])
        self.subscriber_tag = SubscriberTag.objects.create(name="Matrix tag")
        self.authenticator = Authenticator.objects.create(
            user=self.author, type=Authenticator.Type.RECOVERY_CODES, data={"seed": "00"}
        )
        self.task = DBTaskResult.objects.create(
            args_kwargs={"args": [], "kwargs": {}},
            task_path="accounts.tasks.purge_sessions",
            backend_name="default",
            queue_name="default",
            run_after=timezone.now(),
            exception_class_path="",
            traceback="",
        )
        self.api_key = ApiKey(name="Matrix key")
        create_api_key(key=self.api_key, created_by=None)
        self.endpoint = WebhookEndpoint(url="https://hooks.example.com/in", events=["post.sent"])
        create_endpoint(endpoint=self.endpoint)
        self.webhook_delivery = WebhookDelivery.objects.create(
            endpoint=self.endpoint, event="post.sent", message_id="msg_matrix", payload={}
        )
        self.referral = Referral.objects.create(
            referrer=self.writer, referred=SubscriptionFactory().user
        )
        self.milestone = ReferralMilestone.objects.create(count=3, subject="Thanks", body="x")
        self.welcome_step = WelcomeStep.objects.create(
            newsletter=self.newsletter, subject="Matrix welcome", body="<p>Hello.</p>"
        )
        self.import_job = Import.objects.create(
            kind=Import.Kind.SUBSTACK,
            filename="matrix.zip",
            data=b"x",
            status=Import.Status.REFUSED,
        )
        self.prepared_export = PreparedExport.objects.create(
            kind=PreparedExport.Kind.CSV,
            status=PreparedExport.Status.READY,
            filename="subscribers-matrix.csv",
            size=4,
            finished_at=timezone.now(),
        )
        PreparedExportChunk.objects.create(export=self.prepared_export, position=0, data=b"a,b\n")
        self.models = {
            "auth_group": self.group,
            "accounts_referral": self.referral,
            "accounts_referrer": Referrer.objects.get(pk=self.writer.pk),
            "newsletter_referralmilestone": self.milestone,
            "account_emailaddress": EmailAddress.objects.get(user=self.writer),
            "mfa_authenticator": self.authenticator,
            "django_tasks_database_dbtaskresult": self.task,
            "accounts_user": self.writer,
            "accounts_subscription": self.writer.subscription,
            "newsletter_newslettersend": self.send,
            "newsletter_delivery": self.delivery,
            "newsletter_newsletter": self.newsletter,
            "newsletter_segment": self.segment,
            "newsletter_subscribertag": self.subscriber_tag,
            "polls_poll": self.poll,
            "posts_tag": self.tag,
            "posts_post": self.post,
            "posts_page": Page.objects.get(slug="about"),
            "comments_comment": self.comment,
            "comments_commentreport": self.report,
            "comments_commenter": self.commenter,
            "comments_commentsettings": self.settings,
            "publication_publication": Publication.objects.get_or_create(pk=1)[0],
            "integrations_apikey": self.api_key,
            "integrations_webhookendpoint": self.endpoint,
            "integrations_webhookdelivery": self.webhook_delivery,
            "imports_import": self.import_job,
        }

    def kwargs(self, pattern: Pattern) -> dict[str, str]:
        """Arguments that make pattern point at a real thing."""
        values = {
            "slug": self.post.slug,
            "pk": self.comment.pk,
            "poll_id": self.poll.pk,
            "path": "does-not-exist.png",
            "uidb36": "1",
            "key": "not-a-real-key",
            "app_label": "posts",
            "url": "nowhere/",
            "action": "pause",
            "revision_id": self.revision.pk,
            "content_type_id": ContentType.objects.get_for_model(self.post).pk,
            "post_id": self.post.pk,
            "send_id": self.send.pk,
            "step_id": self.welcome_step.pk,
            "mark": "1.0:not-signed-here",
        }
        if pattern.name == "posts:tag":
            values["slug"] = self.tag.slug
        elif pattern.name == "posts:page":
            values["slug"] = "about"
        elif pattern.name == "posts:author":
            values["pk"] = self.author.pk
        elif pattern.name == "accounts:referral":
            values["code"] = code_for(self.writer)
        elif pattern.name.startswith("accounts:") and "token" in pattern.arguments:
            values["token"] = unsubscribe_token(self.writer.pk)
        elif pattern.name.startswith("newsletter:manage") or pattern.name == (
            "newsletter:unsubscribe-everything"
        ):
            values["token"] = manage_token(self.writer.pk)
        elif pattern.name == "newsletter:leave":
            values["token"] = leave_token(self.writer.pk, self.newsletter.pk)
        elif pattern.name == "integrations:confirm-subscription":
            values["token"] = confirm_token(self.writer.pk)
        elif pattern.name == "comments:stop-replies":
            values["token"] = stop_token(user=self.writer)
        elif pattern.name == "polls:email-vote":
            url = vote_url(poll_id=self.poll.pk, choice_id=self.choice.pk, user_id=self.writer.pk)
            values["token"] = url.rstrip("/").rsplit("/", 1)[-1]
        if pattern.name.startswith("admin:imports_import_") and "pk" in pattern.arguments:
            values["pk"] = self.import_job.pk
        if pattern.name in {"admin:export-download", "admin:export-delete"}:
            values["pk"] = self.prepared_export.pk
        if pattern.name == "admin:view_on_site":
            values["object_id"] = self.post.pk
        elif pattern.name == "admin:auth_user_password_change":
            values["id"] = self.writer.pk
        elif "object_id" in pattern.arguments:
            values["object_id"] = self.models[admin_model_key(pattern)].pk
        return {name: str(values[name]) for name in pattern.arguments}


def admin_model_key(pattern: Pattern) -> str:
    """Return "app_model" for an admin URL of a registered model (admin/posts/post/…)."""
    for model in admin.site._registry:
        if pattern.route.startswith(f"admin/{model._meta.app_label}/{model._meta.model_name}/"):
            return f"{model._meta.app_label}_{model._meta.model_name}"
    raise KeyError(pattern.route)


def fill(pattern: Pattern, kwargs: dict[str, str]) -> str:
    """Return the path for pattern with kwargs, built from its route (unnamed routes too)."""
    route = pattern.route
    for name, value in kwargs.items():
        route = re.sub(rf"\(\?P<{name}>[^)]*\)", value, route)
        route = re.sub(rf"<(?:\w+:)?{name}>", value, route)
    route = route.replace("^", "").replace("$", "")
    return "/" + route
