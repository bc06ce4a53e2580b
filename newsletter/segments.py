"""Segments: saved filters over the subscribers, stored as JSON and combined with AND.

A segment's `conditions` is a list of objects, each with a "kind":

    {"kind": "newsletter", "newsletter": 3}                 on newsletter 3 (subscribed)
    {"kind": "status", "status": "active"}                  subscription status
    {"kind": "tag", "tag": 5, "has": true}                  has (or, with false, lacks) tag 5
    {"kind": "signup", "when": "after", "date": "2026-01-31"}   or "before"
    {"kind": "signup", "when": "within", "days": 30}        signed up in the last 30 days
    {"kind": "source", "source": "import"}                  signup source (any case)
    {"kind": "activity", "action": "voted", "days": 30}     or "commented", "thumbs_up"
    {"kind": "poll_answer", "poll": 2, "choice": 7}         answered poll 2 with choice 7
    {"kind": "referrals", "count": 2}                       made at least 2 counted referrals
    {"kind": "referrals", "count": 2, "days": 30}           ... counted in the last 30 days

`validate_conditions()` checks the shape (refusing unknown kinds and keys, wrong types, too
many conditions); `conditions_q()` turns them into one Q over readers, each condition an
EXISTS or a join, so counting a segment is one SQL query whatever it holds. Conditions that
contradict each other (a poll answered with a choice of another poll, "before" a date earlier
than "after") simply match nobody.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.lookups import GreaterThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Referral, Subscription, User
from comments.models import Comment
from polls.models import Vote
from posts.models import ThumbsUp

MAX_CONDITIONS = 20
MAX_JSON_CHARS = 5000
MAX_DAYS = 36500
MAX_REFERRALS = 100000

ACTIVITY = {
    "voted": (Vote, "user", "created_at"),
    "commented": (Comment, "author", "created_at"),
    "thumbs_up": (ThumbsUp, "user", "created_at"),
}

# kind -> {key: checker}; a checker returns the cleaned value or raises ValueError.


def _id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise ValueError(_("a positive whole number"))
    return value


def _days(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_DAYS:
        raise ValueError(_("a number of days from 1 to %(max)d") % {"max": MAX_DAYS})
    return value


def _referrals(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_REFERRALS:
        raise ValueError(
            _("a whole number of referrals from 1 to %(max)d") % {"max": MAX_REFERRALS}
        )
    return value


def _choice(*allowed: str):
    def check(value: Any) -> str:
        if value not in allowed:
            raise ValueError(_("one of %(values)s") % {"values": ", ".join(allowed)})
        return value

    return check


def _date(value: Any) -> str:
    try:
        return datetime.date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise ValueError(_("a date written YYYY-MM-DD")) from None


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        raise ValueError(_("a text of 1 to 100 characters"))
    return value.strip()


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(_("true or false"))
    return value


SHAPES = {
    "newsletter": {"newsletter": _id},
    "status": {"status": _choice(*Subscription.Status.values)},
    "tag": {"tag": _id, "has": _bool},
    "signup": {"when": _choice("before", "after", "within"), "date": _date, "days": _days},
    "source": {"source": _text},
    "activity": {"action": _choice(*ACTIVITY), "days": _days},
    "poll_answer": {"poll": _id, "choice": _id},
    "referrals": {"count": _referrals, "days": _days},
}


def validate_conditions(conditions: Any) -> list[dict[str, Any]]:
    """Return conditions cleaned, or raise ValidationError saying what is wrong and where."""
    if conditions in (None, ""):
        return []
    if isinstance(conditions, str):
        if len(conditions) > MAX_JSON_CHARS:
            raise ValidationError(_("The conditions are too long."), code="too_long")
        try:
            conditions = json.loads(conditions)
        except ValueError:
            raise ValidationError(_("The conditions are not valid JSON."), code="json") from None
    if not isinstance(conditions, list):
        raise ValidationError(_("The conditions must be a list."), code="not_list")
    if len(conditions) > MAX_CONDITIONS:
        raise ValidationError(
            _("A segment has at most %(max)d conditions.") % {"max": MAX_CONDITIONS},
            code="too_many",
        )
    cleaned = []
    for number, condition in enumerate(conditions, start=1):
        if not isinstance(condition, dict) or condition.get("kind") not in SHAPES:
            raise ValidationError(
                _("Condition %(n)d: the kind must be one of %(kinds)s.")
                % {"n": number, "kinds": ", ".join(SHAPES)},
                code="kind",
            )
        kind = condition["kind"]
        shape = SHAPES[kind]
        keys = set(condition) - {"kind"}
        if unknown := keys - shape.keys():
            raise ValidationError(
                _("Condition %(n)d (%(kind)s): unknown %(keys)s.")
                % {"n": number, "kind": kind, "keys": ", ".join(sorted(unknown))},
                code="key",
            )
        needed = set(shape)
        if kind == "signup":
            needed = {"when", "days" if condition.get("when") == "within" else "date"}
        if kind == "tag":
            needed = {"tag"}
        if kind == "referrals":
            needed = {"count"}
        if missing := needed - keys:
            raise ValidationError(
                _("Condition %(n)d (%(kind)s): %(keys)s missing.")
                % {"n": number, "kind": kind, "keys": ", ".join(sorted(missing))},
                code="missing",
            )
        clean = {"kind": kind}
        optional = {"tag": {"has"}, "referrals": {"days"}}.get(kind, set())
        for key in sorted(keys & (needed | optional)):
            try:
                clean[key] = shape[key](condition[key])
            except ValueError as exc:
                raise ValidationError(
                    _("Condition %(n)d (%(kind)s): %(key)s must be %(what)s.")
                    % {"n": number, "kind": kind, "key": key, "what": exc},
                    code="value",
                ) from None
        cleaned.append(clean)
    return cleaned


def _day_start(iso: str) -> datetime.datetime:
    day = datetime.date.fromisoformat(iso)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def condition_q(condition: dict[str, Any]) -> Q:
    """Return one validated condition as a Q over readers."""
    kind = condition["kind"]
    reader = OuterRef("pk")
    if kind == "newsletter":
        from newsletter.models import Membership

        return Q(
            Exists(
                Membership.objects.filter(
                    user=reader,
                    newsletter_id=condition["newsletter"],
                    status=Membership.Status.SUBSCRIBED,
                )
            )
        )
    if kind == "status":
        return Q(subscription__status=condition["status"])
    if kind == "tag":
        from newsletter.models import SubscriberTag

        tagged = Exists(
            SubscriberTag.readers.through.objects.filter(
                user_id=reader, subscribertag_id=condition["tag"]
            )
        )
        return Q(tagged) if condition.get("has", True) else ~Q(tagged)
    if kind == "signup":
        when = condition["when"]
        if when == "within":
            since = timezone.now() - datetime.timedelta(days=condition["days"])
            return Q(subscription__created_at__gte=since)
        start = _day_start(condition["date"])
        if when == "before":
            return Q(subscription__created_at__lt=start)
        return Q(subscription__created_at__gte=start + datetime.timedelta(days=1))
    if kind == "source":
        return Q(subscription__source__iexact=condition["source"])
    if kind == "activity":
        model, field, stamp = ACTIVITY[condition["action"]]
        since = timezone.now() - datetime.timedelta(days=condition["days"])
        return Q(Exists(model.objects.filter(**{field: reader, f"{stamp}__gte": since})))
    if kind == "poll_answer":
        return Q(
            Exists(
                Vote.objects.filter(
                    user=reader, poll_id=condition["poll"], choice_id=condition["choice"]
                )
            )
        )
    if kind == "referrals":
        # The referrer's counted referrals (confirmed, neither held nor revoked), counted in a
        # correlated subquery: still one SQL query for the whole segment.
        made = Referral.objects.counted().filter(referrer=reader)
        if "days" in condition:
            since = timezone.now() - datetime.timedelta(days=condition["days"])
            made = made.filter(counted_at__gte=since)
        count = made.order_by().values("referrer").annotate(n=Count("pk")).values("n")
        # A reader with none gets NULL from the subquery, which is never >= count (count >= 1).
        return Q(
            GreaterThanOrEqual(Subquery(count, output_field=IntegerField()), condition["count"])
        )
    raise ValueError(kind)  # validate_conditions lets no other kind through


def conditions_q(conditions: Any) -> Q:
    """Return every condition ANDed, as one Q over readers (no condition: everyone)."""
    q = Q()
    for condition in validate_conditions(conditions):
        q &= condition_q(condition)
    return q


def segment_readers(conditions: Any) -> QuerySet[User]:
    """Return the subscribers (readers with a subscription, whatever its status) matching."""
    return User.objects.filter(subscription__isnull=False).filter(conditions_q(conditions))


def segment_count(conditions: Any) -> int:
    """Return how many subscribers match, in one SQL query."""
    return segment_readers(conditions).count()


def describe_condition(condition: dict[str, Any]) -> str:
    """Return one validated condition in words, for editors."""
    kind = condition["kind"]
    if kind == "newsletter":
        from newsletter.models import Newsletter

        name = Newsletter.objects.filter(pk=condition["newsletter"]).values_list("name", flat=True)
        return _("on the newsletter “%(name)s”") % {"name": name.first() or condition["newsletter"]}
    if kind == "status":
        return _("subscription %(status)s") % {
            "status": Subscription.Status(condition["status"]).label
        }
    if kind == "tag":
        from newsletter.models import SubscriberTag

        tag = SubscriberTag.objects.filter(pk=condition["tag"]).values_list("name", flat=True)
        words = _("tagged “%(tag)s”") if condition.get("has", True) else _("not tagged “%(tag)s”")
        return words % {"tag": tag.first() or condition["tag"]}
    if kind == "signup":
        if condition["when"] == "within":
            return _("signed up in the last %(days)d days") % {"days": condition["days"]}
        if condition["when"] == "before":
            return _("signed up before %(date)s") % {"date": condition["date"]}
        return _("signed up after %(date)s") % {"date": condition["date"]}
    if kind == "source":
        return _("signup source “%(source)s”") % {"source": condition["source"]}
    if kind == "activity":
        actions = {
            "voted": _("voted"),
            "commented": _("commented"),
            "thumbs_up": _("gave a thumbs up"),
        }
        return _("%(action)s in the last %(days)d days") % {
            "action": actions[condition["action"]],
            "days": condition["days"],
        }
    if kind == "poll_answer":
        from polls.models import Choice

        choice = Choice.objects.filter(pk=condition["choice"], poll_id=condition["poll"])
        found = choice.select_related("poll").first()
        if found is None:
            return _("answered a poll that no longer exists")
        return _("answered “%(question)s” with “%(choice)s”") % {
            "question": found.poll.question,
            "choice": found.text,
        }
    if kind == "referrals":
        words = {"count": condition["count"], "days": condition.get("days")}
        if condition["count"] == 1:
            text = _("made at least 1 referral")
        else:
            text = _("made at least %(count)d referrals") % words
        if condition.get("days"):
            text += " " + _("counted in the last %(days)d days") % words
        return text
    raise ValueError(kind)


def describe_conditions(conditions: Any) -> str:
    """Return a segment's conditions in words, joined by "and" (no condition: everyone)."""
    try:
        cleaned = validate_conditions(conditions)
    except ValidationError:
        return _("conditions that are no longer valid")
    if not cleaned:
        return _("every subscriber")
    return _(" and ").join(describe_condition(condition) for condition in cleaned)
