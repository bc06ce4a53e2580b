"""Reading other platforms' export files into one shape: posts and subscribers.

Nothing here touches the database: a reader takes the uploaded bytes and returns a Bundle, or
raises FileRefused with a sentence for the editor when the file as a whole cannot be used
(wrong format, wrong encoding, wrong columns, a zip bomb). A row that cannot be used carries
its problem in words and the rest of the file still imports.

Zip archives are read in memory, member by member, by the names we look for; nothing is ever
written to a path taken from the archive, and the sizes are checked before anything is
decompressed (and again while reading, since the sizes in a zip's directory can lie).
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.utils.dateparse import parse_datetime
from django.utils.text import slugify

# A zip whose members would unpack to more than this many times their packed size is refused
# (real exports of text compress around 3-10 times; bombs, thousands of times).
MAX_ZIP_RATIO = 100
MAX_ZIP_MEMBERS = 20_000
MAX_ROWS = 200_000


class FileRefused(ValueError):
    """The file as a whole cannot be imported; the message says why, for the editor."""


@dataclass
class Author:
    source_id: str
    name: str
    email: str
    bio: str = ""


@dataclass
class PostRow:
    where: str
    source_id: str
    slug: str
    title: str
    subtitle: str = ""
    html: str = ""
    is_published: bool = True
    published_at: datetime | None = None
    for_subscribers: bool = False
    # Only in a file exported here (Ghost has no column for them): None leaves ours as is.
    daily_takeaway: str | None = None
    comments_mode: str | None = None
    tags: list[tuple[str, str]] = field(default_factory=list)  # (name, slug)
    authors: list[Author] = field(default_factory=list)
    feature_image: str = ""
    old_path: str = ""
    problem: str = ""


@dataclass
class SubscriberRow:
    where: str
    email: str
    name: str = ""
    created_at: datetime | None = None
    # "active", "unsubscribed", "bounced", "complained", or "" with problem set: not imported.
    status: str = "active"
    tags: list[str] = field(default_factory=list)
    newsletters: list[tuple[str, str]] = field(default_factory=list)  # (name, slug)
    problem: str = ""
    skip: str = ""  # a reason to leave the row out that is not an error (never subscribed)


@dataclass
class Bundle:
    posts: list[PostRow] = field(default_factory=list)
    subscribers: list[SubscriberRow] = field(default_factory=list)
    # Whether the file says which newsletters each subscriber is on (Ghost's newsletters);
    # otherwise they go to the newsletter the editor picked.
    names_newsletters: bool = False
    # What the file says of each newsletter it names, by slug (Ghost's newsletters table), for
    # the ones we do not have yet: description, sender_name, is_archived, is_default,
    # is_choosable.
    newsletter_details: dict[str, dict] = field(default_factory=dict)


# --- Text, CSV and zip helpers ---


def decode_text(data: bytes, *, what: str) -> str:
    """Return data as text if it is UTF-8 (a byte order mark is fine), else refuse in words."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileRefused(
            f"{what} is saved as UTF-16. Save or export it again as UTF-8 (in a spreadsheet: "
            "CSV UTF-8) and upload that."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRefused(
            f"{what} is not UTF-8 text (byte {exc.start + 1} is not valid UTF-8; it looks like "
            "Latin-1 or Windows-1252). Save or export it again as UTF-8 (in a spreadsheet: CSV "
            "UTF-8) and upload that. Nothing was imported."
        ) from None


def read_csv(data: bytes, *, what: str, required: set[str]) -> tuple[list[str], list[dict]]:
    """Return (header, rows as dicts keyed by header) or refuse when a required column is
    missing. Header names are compared without case or surrounding spaces."""
    text = decode_text(data, what=what)
    if "\x00" in text:
        raise FileRefused(f"{what} contains NUL bytes: it is not a CSV text file.")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [cell.strip() for cell in next(reader)]
    except StopIteration:
        raise FileRefused(f"{what} is empty.") from None
    except csv.Error as exc:
        raise FileRefused(f"{what} is not a readable CSV file ({exc}).") from None
    keys = [cell.lower() for cell in header]
    missing = sorted(name for name in required if name.lower() not in keys)
    if missing:
        shown = ", ".join(header[:12]) or "none"
        raise FileRefused(
            f"{what} has no {', '.join(repr(m) for m in missing)} column, so it is not the "
            f"export this format expects. Columns found: {shown}."
        )
    rows = []
    try:
        for number, cells in enumerate(reader, start=2):
            if number > MAX_ROWS + 1:
                raise FileRefused(f"{what} has more than {MAX_ROWS:,} rows; split it.")
            if not any(cell.strip() for cell in cells):
                continue
            row = {key: (cells[i].strip() if i < len(cells) else "") for i, key in enumerate(keys)}
            row["__line__"] = number
            rows.append(row)
    except csv.Error as exc:
        raise FileRefused(f"{what} is not a readable CSV file ({exc}).") from None
    return header, rows


def open_zip(data: bytes, *, what: str) -> zipfile.ZipFile:
    """Open data as a zip and check it is safe to read, or refuse in words."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise FileRefused(f"{what} is not a zip file.") from None
    members = archive.infolist()
    if len(members) > MAX_ZIP_MEMBERS:
        raise FileRefused(f"{what} holds more than {MAX_ZIP_MEMBERS:,} files; it is refused.")
    total = sum(info.file_size for info in members)
    if total > settings.IMPORTS_MAX_UNPACKED_BYTES:
        raise FileRefused(
            f"{what} would unpack to {total // (1024 * 1024):,} MB, more than the "
            f"{settings.IMPORTS_MAX_UNPACKED_BYTES // (1024 * 1024):,} MB allowed; it is refused."
        )
    for info in members:
        if info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1024):
            raise FileRefused(
                f"{what} looks like a zip bomb ({info.filename} would unpack to "
                f"{info.file_size:,} bytes from {info.compress_size:,}); it is refused."
            )
    return archive


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """Return one member's bytes, never more than its directory entry announced."""
    limit = min(info.file_size, settings.IMPORTS_MAX_UNPACKED_BYTES)
    try:
        with archive.open(info) as stream:
            content = stream.read(limit + 1)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError) as exc:
        raise FileRefused(f"{info.filename} cannot be read from the zip ({exc}).") from None
    if len(content) > limit:
        raise FileRefused(f"{info.filename} is larger than the zip says; it is refused.")
    return content


def member_name(info: zipfile.ZipInfo) -> str:
    """Return a member's name with folders as "/", never used as a path on disk."""
    return info.filename.replace("\\", "/")


def parse_date(value) -> datetime | None:
    """Return an aware datetime from ISO text ("2024-03-01T09:30:00.000Z", "2024-03-01
    09:30:00") or Unix milliseconds, or None when value is empty or unreadable."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value).strip().removesuffix(" UTC").replace("Z", "+00:00")
    try:
        parsed = parse_datetime(text)
    except ValueError:
        parsed = None
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def is_true(value) -> bool:
    """Return the truth of a CSV or JSON flag ("true", "1", "yes", True)."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"true", "t", "1", "yes", "y"}


def split_tags(value: str) -> list[str]:
    """Return the tags in a cell written as `"a","b"` (Mailchimp) or `a, b`."""
    if not value:
        return []
    cells = next(csv.reader([value], skipinitialspace=True), [])
    tags = [cell.strip().strip('"').strip() for cell in cells]
    return list(dict.fromkeys(tag[:60] for tag in tags if tag))


# --- Substack ---

SUBSTACK_POST_COLUMNS = {"post_id", "title"}
SUBSTACK_SUBSCRIBER_COLUMNS = {"email"}
_SUBSTACK_ID = re.compile(r"^(\d+)(?:\.(.*))?$")


def read_substack(data: bytes) -> Bundle:
    """Read a Substack export zip: posts.csv, posts/<post_id>.html and email_list*.csv."""
    archive = open_zip(data, what="The file")
    members = {member_name(info): info for info in archive.infolist() if not info.is_dir()}
    by_base = {name.rsplit("/", 1)[-1]: info for name, info in members.items()}
    posts_csv = by_base.get("posts.csv")
    lists = [info for base, info in by_base.items() if re.match(r"email_list.*\.csv$", base)]
    if posts_csv is None and not lists:
        raise FileRefused(
            "This zip is not a Substack export: it has neither posts.csv nor an "
            "email_list….csv. Upload the zip Substack's Settings › Exports gives you, unchanged."
        )
    bundle = Bundle()
    if posts_csv is not None:
        bodies = {
            base.removesuffix(".html"): info
            for name, info in members.items()
            if name.endswith(".html") and "/posts/" in f"/{name}"
            for base in [name.rsplit("/", 1)[-1]]
        }
        _header, rows = read_csv(
            read_member(archive, posts_csv), what="posts.csv", required=SUBSTACK_POST_COLUMNS
        )
        for row in rows:
            bundle.posts.append(_substack_post(row, archive, bodies))
    for info in lists:
        _header, rows = read_csv(
            read_member(archive, info),
            what=member_name(info).rsplit("/", 1)[-1],
            required=SUBSTACK_SUBSCRIBER_COLUMNS,
        )
        for row in rows:
            bundle.subscribers.append(_substack_subscriber(row, info))
    return bundle


def _substack_post(row: dict, archive, bodies: dict) -> PostRow:
    where = f"posts.csv line {row['__line__']}"
    post_id = row.get("post_id", "")
    match = _SUBSTACK_ID.match(post_id)
    if not match:
        return PostRow(
            where,
            post_id,
            "",
            row.get("title", ""),
            problem='post_id is not Substack\'s "123456.the-slug"; the row is left out.',
        )
    slug = slugify(match.group(2) or "") or f"post-{match.group(1)}"
    post = PostRow(
        where=where,
        source_id=match.group(1),
        slug=slug[:200],
        title=row.get("title", "")[:200],
        subtitle=row.get("subtitle", "")[:300],
        is_published=is_true(row.get("is_published", "true")),
        published_at=parse_date(row.get("post_date")),
        for_subscribers=row.get("audience", "everyone").lower() in {"only_paid", "founding"},
        old_path=f"/p/{match.group(2)}" if match.group(2) else "",
    )
    if row.get("type", "newsletter").lower() not in {"newsletter", "podcast", "thread", ""}:
        post.problem = f"a Substack {row['type']} is not a post; left out."
        return post
    if not post.title:
        post.problem = "the post has no title; left out."
        return post
    info = bodies.get(post_id)
    if info is None:
        post.problem = f"posts/{post_id}.html is missing from the zip; left out."
        return post
    try:
        post.html = decode_text(read_member(archive, info), what=f"posts/{post_id}.html")
    except FileRefused as exc:
        post.problem = str(exc)
    return post


def _substack_subscriber(row: dict, info) -> SubscriberRow:
    where = f"{member_name(info).rsplit('/', 1)[-1]} line {row['__line__']}"
    subscriber = SubscriberRow(
        where=where, email=row.get("email", ""), created_at=parse_date(row.get("created_at"))
    )
    if is_true(row.get("email_disabled", "")):
        subscriber.status = "unsubscribed"
    plan = row.get("plan", "").strip().lower()
    if plan and plan != "free":
        subscriber.tags = [f"Substack {plan}"]
    return subscriber


# --- Ghost ---


def read_ghost(data: bytes, *, filename: str = "") -> Bundle:
    """Read a Ghost export: the JSON of Settings › Labs › Export ({"db": [{"meta", "data"}]}
    or {"meta", "data"}), or the members CSV of Members › Export, which recent Ghost versions
    keep out of the JSON."""
    text = decode_text(data, what=filename or "The file")
    if not text.lstrip("\ufeff \t\r\n").startswith(("{", "[")):
        return read_ghost_members(data, filename=filename)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileRefused(f"The file is not valid JSON (line {exc.lineno}: {exc.msg}).") from None
    if isinstance(document, dict) and isinstance(document.get("db"), list) and document["db"]:
        document = document["db"][0]
    content = document.get("data") if isinstance(document, dict) else None
    if not isinstance(content, dict) or not any(
        isinstance(content.get(key), list) for key in ("posts", "members")
    ):
        raise FileRefused(
            'This JSON is not a Ghost export: it needs "data" (or "db" → "data") with '
            '"posts" or "members" lists. Export from Ghost\'s Settings › Labs › Export.'
        )

    def table(name: str) -> list[dict]:
        rows = content.get(name) or []
        return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []

    tags = {str(t.get("id")): t for t in table("tags")}
    users = {str(u.get("id")): u for u in table("users")}
    post_tags: dict[str, list[str]] = {}
    for link in sorted(table("posts_tags"), key=lambda row: row.get("sort_order") or 0):
        post_tags.setdefault(str(link.get("post_id")), []).append(str(link.get("tag_id")))
    post_authors: dict[str, list[str]] = {}
    for link in sorted(table("posts_authors"), key=lambda row: row.get("sort_order") or 0):
        post_authors.setdefault(str(link.get("post_id")), []).append(str(link.get("author_id")))

    bundle = Bundle()
    for number, raw in enumerate(table("posts"), start=1):
        bundle.posts.append(_ghost_post(number, raw, tags, users, post_tags, post_authors))

    labels = {str(label.get("id")): label for label in table("labels")}
    member_labels: dict[str, list[str]] = {}
    for link in table("members_labels"):
        member_labels.setdefault(str(link.get("member_id")), []).append(str(link.get("label_id")))
    newsletters = {str(n.get("id")): n for n in table("newsletters")}
    member_newsletters: dict[str, list[str]] = {}
    for link in table("members_newsletters"):
        member_newsletters.setdefault(str(link.get("member_id")), []).append(
            str(link.get("newsletter_id"))
        )
    bundle.names_newsletters = bool(newsletters)
    for raw in newsletters.values():
        slug = slugify(raw.get("slug") or raw.get("name") or "")[:100]
        ours = raw.get("futureforward") if isinstance(raw.get("futureforward"), dict) else {}
        bundle.newsletter_details[slug] = {
            "description": str(raw.get("description") or "")[:300],
            "sender_name": str(raw.get("sender_name") or "")[:100],
            "is_archived": raw.get("status") == "archived",
            "is_default": raw.get("subscribe_on_signup") is True,
            # Offered to readers only when the file is one of ours that says so: a Ghost
            # newsletter waits for an editor to choose.
            "is_choosable": ours.get("readers_may_choose") is True,
        }
    for number, raw in enumerate(table("members"), start=1):
        member_id = str(raw.get("id"))
        subscriber = SubscriberRow(
            where=f"member {number}",
            email=str(raw.get("email") or ""),
            name=str(raw.get("name") or "")[:100],
            created_at=parse_date(raw.get("created_at")),
        )
        subscriber.tags = [
            str(labels[label_id].get("name"))[:60]
            for label_id in member_labels.get(member_id, [])
            if label_id in labels and labels[label_id].get("name")
        ]
        subscriber.newsletters = [
            (str(newsletters[n].get("name") or "")[:100], slugify(newsletters[n].get("slug") or ""))
            for n in member_newsletters.get(member_id, [])
            if n in newsletters
        ]
        ours = raw.get("futureforward") if isinstance(raw.get("futureforward"), dict) else {}
        if ours.get("status") in {"active", "unsubscribed", "bounced", "complained"}:
            # A file exported here says exactly (Ghost's terms fold complaints into bounces).
            subscriber.status = ours["status"]
        elif ours.get("status") == "pending":
            subscriber.skip = "never confirmed their address, so they were never a subscriber."
        elif is_true(raw.get("email_disabled", False)):
            subscriber.status = "bounced"
        elif raw.get("subscribed") is False or (
            bundle.names_newsletters and not subscriber.newsletters
        ):
            subscriber.status = "unsubscribed"
        bundle.subscribers.append(subscriber)
    return bundle


def _ghost_post(number, raw, tags, users, post_tags, post_authors) -> PostRow:
    source_id = str(raw.get("id") or raw.get("uuid") or "")
    slug = slugify(str(raw.get("slug") or ""))[:200]
    post = PostRow(
        where=f"post {number} ({slug or 'no slug'})",
        source_id=source_id,
        slug=slug,
        title=str(raw.get("title") or "")[:200],
        subtitle=str(raw.get("custom_excerpt") or "")[:300],
        html=str(raw.get("html") or ""),
        # A scheduled post keeps its time and appears by itself then (Post's own rule).
        is_published=raw.get("status") in {"published", "sent", "scheduled"},
        published_at=parse_date(raw.get("published_at")),
        for_subscribers=raw.get("visibility", "public") not in {"public", None},
        feature_image=str(raw.get("feature_image") or ""),
        old_path=f"/{raw.get('slug')}/" if raw.get("slug") else "",
    )
    ours = raw.get("futureforward") if isinstance(raw.get("futureforward"), dict) else {}
    if isinstance(ours.get("daily_takeaway"), str):
        post.daily_takeaway = ours["daily_takeaway"][:5000]
    if ours.get("comments") in {"open", "closed", "off"}:
        post.comments_mode = ours["comments"]
    post.tags = [
        (str(tags[t].get("name"))[:50], slugify(tags[t].get("slug") or tags[t].get("name"))[:60])
        for t in post_tags.get(source_id, [])
        if t in tags and tags[t].get("name") and not str(tags[t].get("name")).startswith("#")
    ]
    post.authors = [
        Author(
            source_id=a,
            name=str(users[a].get("name") or "")[:100],
            email=str(users[a].get("email") or ""),
            bio=str(users[a].get("bio") or "")[:300],
        )
        for a in post_authors.get(source_id, [])
        if a in users
    ]
    if not post.authors and str(raw.get("author_id")) in users:
        user = users[str(raw.get("author_id"))]
        post.authors = [
            Author(
                str(raw.get("author_id")), str(user.get("name") or ""), str(user.get("email") or "")
            )
        ]
    if raw.get("type", "post") != "post" or is_true(raw.get("page", False)):
        post.problem = "a Ghost page, not a post; left out."
    elif not source_id:
        post.problem = "the post has no id; left out."
    elif not post.slug:
        post.problem = "the post has no slug; left out."
    elif not post.title:
        post.problem = "the post has no title; left out."
    elif not post.html and (raw.get("mobiledoc") or raw.get("lexical")):
        post.problem = "the post has no html (only the editor's own format); left out."
    return post


# --- Mailchimp and beehiiv ---

MAILCHIMP_COLUMNS = {"email address"}


def read_mailchimp(data: bytes, *, filename: str = "") -> Bundle:
    """Read a Mailchimp audience export: one CSV, or the zip of subscribed, unsubscribed,
    cleaned and non-subscribed CSVs."""
    bundle = Bundle()
    if data[:4] == b"PK\x03\x04":
        archive = open_zip(data, what="The file")
        files = [
            info
            for info in archive.infolist()
            if not info.is_dir() and member_name(info).lower().endswith(".csv")
        ]
        if not files:
            raise FileRefused("This zip holds no CSV file; it is not a Mailchimp audience export.")
        for info in files:
            name = member_name(info).rsplit("/", 1)[-1]
            _mailchimp_rows(bundle, read_member(archive, info), name)
    else:
        _mailchimp_rows(bundle, data, filename or "The file")
    return bundle


def _mailchimp_rows(bundle: Bundle, data: bytes, name: str) -> None:
    header, rows = read_csv(data, what=name, required=MAILCHIMP_COLUMNS)
    columns = {column.lower() for column in header}
    lowered = name.lower()
    if "clean_time" in columns or lowered.startswith("cleaned"):
        status = "bounced"
    elif "unsub_time" in columns or lowered.startswith("unsubscribed"):
        status = "unsubscribed"
    else:
        status = "active"
    never = lowered.startswith("nonsubscribed") or lowered.startswith("non_subscribed")
    for row in rows:
        names = " ".join(part for part in (row.get("first name"), row.get("last name")) if part)
        subscriber = SubscriberRow(
            where=f"{name} line {row['__line__']}",
            email=row.get("email address", ""),
            name=names[:100],
            created_at=parse_date(row.get("confirm_time") or row.get("optin_time")),
            status=status,
            tags=split_tags(row.get("tags", "")),
        )
        if never:
            subscriber.skip = "never subscribed on Mailchimp (a non-subscribed contact)."
        bundle.subscribers.append(subscriber)


BEEHIIV_COLUMNS = {"email", "status"}
BEEHIIV_STATUSES = {
    "active": "active",
    "inactive": "unsubscribed",
    "unsubscribed": "unsubscribed",
    "invalid": "bounced",
    "needs_attention": "bounced",
}


GHOST_MEMBER_COLUMNS = {"email", "subscribed_to_emails"}


def read_ghost_members(data: bytes, *, filename: str = "") -> Bundle:
    """Read Ghost's members CSV: email, name, subscribed_to_emails, created_at, deleted_at and
    labels (names, comma-separated). Ghost's paid plans and Stripe ids have no place here."""
    what = filename or "The file"
    if b"subscribed_to_emails" not in data[:4096]:
        raise FileRefused(
            f"{what} is neither Ghost's JSON export nor its members CSV (no "
            "'subscribed_to_emails' column). Export members from Ghost's Members › Export, "
            "or everything else from Settings › Labs › Export."
        )
    header, rows = read_csv(data, what=what, required=GHOST_MEMBER_COLUMNS)
    bundle = Bundle()
    for row in rows:
        subscriber = SubscriberRow(
            where=f"line {row['__line__']}",
            email=row.get("email", ""),
            name=row.get("name", "")[:100],
            created_at=parse_date(row.get("created_at")),
            tags=split_tags(row.get("labels", "")),
        )
        if row.get("deleted_at"):
            subscriber.skip = "deleted on Ghost, so not imported."
        elif not is_true(row.get("subscribed_to_emails", "")):
            subscriber.status = "unsubscribed"
        bundle.subscribers.append(subscriber)
    return bundle


def read_beehiiv(data: bytes, *, filename: str = "") -> Bundle:
    """Read a beehiiv subscriber export CSV."""
    header, rows = read_csv(data, what=filename or "The file", required=BEEHIIV_COLUMNS)
    bundle = Bundle()
    for row in rows:
        raw_status = row.get("status", "").lower()
        names = " ".join(part for part in (row.get("first_name"), row.get("last_name")) if part)
        subscriber = SubscriberRow(
            where=f"line {row['__line__']}",
            email=row.get("email", ""),
            name=(names or row.get("name", ""))[:100],
            created_at=parse_date(row.get("created_at")),
            status=BEEHIIV_STATUSES.get(raw_status, ""),
            tags=split_tags(row.get("tags", "")) + _campaign_tags(row),
        )
        if not subscriber.status:
            subscriber.skip = (
                f'status "{raw_status or "empty"}" on beehiiv: they never confirmed, so they '
                "are not imported."
            )
        bundle.subscribers.append(subscriber)
    return bundle


BEEHIIV_CAMPAIGN_COLUMNS = ("utm_source", "utm_medium", "utm_campaign", "utm_channel")


def _campaign_tags(row: dict) -> list[str]:
    """beehiiv's record of where a subscriber came from, as tags a segment can select
    ("utm_source: podcast"): our own sources name pages and posts, not campaigns."""
    return [
        f"{column}: {row[column]}"[:60] for column in BEEHIIV_CAMPAIGN_COLUMNS if row.get(column)
    ]


EMAIL_HEADERS = ("email", "email address", "e-mail", "mail")


def read_address_list(data: bytes, *, filename: str = "") -> Bundle:
    """Read a list of addresses from any other tool: the column named "email" (or "email
    address", "e-mail", "mail", any case) when the first row is a header, else the first
    column. Commas, semicolons or tabs."""
    what = filename or "The file"
    text = decode_text(data, what=what)
    if "\x00" in text:
        raise FileRefused(f"{what} contains NUL bytes: it is not a CSV text file.")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    bundle = Bundle()
    column = 0
    try:
        for number, row in enumerate(csv.reader(io.StringIO(text, newline=""), dialect), 1):
            if number > MAX_ROWS + 1:
                raise FileRefused(f"{what} has more than {MAX_ROWS:,} rows; split it.")
            cells = [cell.strip() for cell in row]
            if not any(cells):
                continue
            if number == 1:
                lowered = [cell.lower() for cell in cells]
                named = [name for name in EMAIL_HEADERS if name in lowered]
                if named:
                    column = lowered.index(named[0])
                    continue
                if "@" not in (cells[0] if cells else ""):
                    raise FileRefused(
                        f"{what} has no column named email, and its first column holds no "
                        f"address. Columns found: {', '.join(cells[:12])}."
                    )
            email = cells[column] if column < len(cells) else ""
            bundle.subscribers.append(SubscriberRow(where=f"line {number}", email=email))
    except csv.Error as exc:
        raise FileRefused(f"{what} is not a readable CSV file ({exc}).") from None
    return bundle


def read(kind: str, data: bytes, *, filename: str = "") -> Bundle:
    """Return the bundle in data read as the given format, or raise FileRefused."""
    if not data:
        raise FileRefused("The file is empty.")
    if len(data) > settings.IMPORTS_MAX_UPLOAD_BYTES:
        raise FileRefused(
            f"The file is larger than {settings.IMPORTS_MAX_UPLOAD_BYTES // (1024 * 1024)} MB."
        )
    if kind == "substack":
        return read_substack(data)
    if kind == "ghost":
        return read_ghost(data, filename=filename)
    if kind == "mailchimp":
        return read_mailchimp(data, filename=filename)
    if kind == "beehiiv":
        return read_beehiiv(data, filename=filename)
    if kind == "csv":
        return read_address_list(data, filename=filename)
    raise FileRefused(f"Unknown format {kind!r}.")
