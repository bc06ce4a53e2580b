"""Export files written fresh for the tests, field by field in each platform's format.

Substack: a zip with posts.csv (post_id "<number>.<slug>", post_date, is_published,
email_sent_at, inbox_sent_at, type, audience, title, subtitle, podcast_url), one
posts/<post_id>.html per post, and email_list.<publication>.csv (email, active_subscription,
expiry, plan, email_disabled, created_at, first_payment_at).
Ghost 5: {"db": [{"meta": {"exported_on", "version"}, "data": {posts, tags, posts_tags, users,
posts_authors, members, labels, members_labels, newsletters, members_newsletters}}]}.
Mailchimp: an audience CSV ("Email Address", "First Name", "Last Name", ..., "OPTIN_TIME",
"CONFIRM_TIME", ..., "TAGS"); the unsubscribed export adds UNSUB_TIME..., the cleaned one
CLEAN_TIME...
beehiiv: a subscriber CSV (email, status, created_at, subscription_tier, utm_source,
utm_medium, utm_channel, utm_campaign, referring_site, referral_code, first_name, last_name).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile

SUBSTACK_POST_COLUMNS = [
    "post_id",
    "post_date",
    "is_published",
    "email_sent_at",
    "inbox_sent_at",
    "type",
    "audience",
    "title",
    "subtitle",
    "podcast_url",
]
SUBSTACK_LIST_COLUMNS = [
    "email",
    "active_subscription",
    "expiry",
    "plan",
    "email_disabled",
    "created_at",
    "first_payment_at",
]


def csv_bytes(header: list[str], rows: list[dict], *, encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return buffer.getvalue().encode(encoding)


def substack_post(number: int, slug: str, title: str, **fields) -> dict:
    return {
        "post_id": f"{number}.{slug}",
        "post_date": "2024-03-05T08:30:00.000Z",
        "is_published": "true",
        "email_sent_at": "2024-03-05T08:31:00.000Z",
        "inbox_sent_at": "2024-03-05T08:31:00.000Z",
        "type": "newsletter",
        "audience": "everyone",
        "title": title,
        "subtitle": "",
        "podcast_url": "",
        "body": f"<p>The body of {title}.</p>",
        **fields,
    }


def substack_reader(email: str, **fields) -> dict:
    return {
        "email": email,
        "active_subscription": "false",
        "expiry": "",
        "plan": "free",
        "email_disabled": "false",
        "created_at": "2023-11-02T10:00:00.000Z",
        "first_payment_at": "",
        **fields,
    }


def substack_zip(
    posts: list[dict] = (), readers: list[dict] = (), *, extra: dict | None = None
) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("posts.csv", csv_bytes(SUBSTACK_POST_COLUMNS, list(posts)))
        for post in posts:
            if post.get("body") is not None:
                archive.writestr(f"posts/{post['post_id']}.html", post["body"])
        if readers:
            archive.writestr(
                "email_list.futurenotes.csv", csv_bytes(SUBSTACK_LIST_COLUMNS, list(readers))
            )
        for name, content in (extra or {}).items():
            archive.writestr(name, content)
    return buffer.getvalue()


def ghost_export(
    *,
    posts=(),
    tags=(),
    posts_tags=(),
    users=(),
    posts_authors=(),
    members=(),
    labels=(),
    members_labels=(),
    newsletters=(),
    members_newsletters=(),
    wrapped: bool = True,
) -> bytes:
    body = {
        "meta": {"exported_on": 1709625600000, "version": "5.80.0"},
        "data": {
            "posts": list(posts),
            "tags": list(tags),
            "posts_tags": list(posts_tags),
            "users": list(users),
            "posts_authors": list(posts_authors),
            "members": list(members),
            "labels": list(labels),
            "members_labels": list(members_labels),
            "newsletters": list(newsletters),
            "members_newsletters": list(members_newsletters),
        },
    }
    return json.dumps({"db": [body]} if wrapped else body).encode()


def ghost_post(post_id: str, slug: str, title: str, **fields) -> dict:
    return {
        "id": post_id,
        "uuid": f"uuid-{post_id}",
        "title": title,
        "slug": slug,
        "mobiledoc": None,
        "lexical": '{"root":{}}',
        "html": f"<p>The body of {title}.</p>",
        "comment_id": post_id,
        "plaintext": f"The body of {title}.",
        "feature_image": None,
        "featured": False,
        "type": "post",
        "status": "published",
        "locale": None,
        "visibility": "public",
        "email_recipient_filter": "all",
        "created_at": "2024-02-01T09:00:00.000Z",
        "updated_at": "2024-02-01T09:30:00.000Z",
        "published_at": "2024-02-01T09:30:00.000Z",
        "custom_excerpt": None,
        "codeinjection_head": None,
        "codeinjection_foot": None,
        "custom_template": None,
        "canonical_url": None,
        "newsletter_id": None,
        **fields,
    }


def ghost_member(member_id: str, email: str, **fields) -> dict:
    return {
        "id": member_id,
        "uuid": f"uuid-{member_id}",
        "email": email,
        "status": "free",
        "name": None,
        "note": None,
        "geolocation": None,
        "email_disabled": False,
        "created_at": "2023-12-01T12:00:00.000Z",
        "updated_at": "2023-12-01T12:00:00.000Z",
        **fields,
    }


MAILCHIMP_COLUMNS = [
    "Email Address",
    "First Name",
    "Last Name",
    "Address",
    "Phone Number",
    "MEMBER_RATING",
    "OPTIN_TIME",
    "OPTIN_IP",
    "CONFIRM_TIME",
    "CONFIRM_IP",
    "LATITUDE",
    "LONGITUDE",
    "GMTOFF",
    "DSTOFF",
    "TIMEZONE",
    "CC",
    "REGION",
    "LAST_CHANGED",
    "LEID",
    "EUID",
    "NOTES",
    "TAGS",
]
MAILCHIMP_UNSUBSCRIBED = [
    *MAILCHIMP_COLUMNS[:-1],
    "UNSUB_TIME",
    "UNSUB_CAMPAIGN_TITLE",
    "UNSUB_CAMPAIGN_ID",
    "UNSUB_REASON",
    "UNSUB_REASON_OTHER",
    "TAGS",
]
MAILCHIMP_CLEANED = [
    *MAILCHIMP_COLUMNS[:-1],
    "CLEAN_TIME",
    "CLEAN_CAMPAIGN_TITLE",
    "CLEAN_CAMPAIGN_ID",
    "TAGS",
]


def mailchimp_contact(email: str, **fields) -> dict:
    return {
        "Email Address": email,
        "First Name": "",
        "Last Name": "",
        "MEMBER_RATING": "2",
        "OPTIN_TIME": "2023-05-01 10:00:00",
        "CONFIRM_TIME": "2023-05-01 10:05:00",
        "LAST_CHANGED": "2023-05-01 10:05:00",
        "TAGS": "",
        **fields,
    }


BEEHIIV_COLUMNS = [
    "email",
    "status",
    "created_at",
    "subscription_tier",
    "utm_source",
    "utm_medium",
    "utm_channel",
    "utm_campaign",
    "referring_site",
    "referral_code",
    "first_name",
    "last_name",
]


def beehiiv_subscriber(email: str, **fields) -> dict:
    return {
        "email": email,
        "status": "active",
        "created_at": "2024-01-10 14:00:00 UTC",
        "subscription_tier": "free",
        "utm_source": "twitter",
        "utm_channel": "website",
        **fields,
    }
