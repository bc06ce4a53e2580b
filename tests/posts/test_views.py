"""What readers see: home, archive, tag and author pages, the post page, feeds and metadata."""

import json
import re
from datetime import UTC, timedelta
from http import HTTPStatus
from xml.etree import ElementTree

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from posts.models import Post
from tests.factories import EditorFactory, PostFactory, SubscriptionFactory, TagFactory, UserFactory

pytestmark = pytest.mark.django_db


def days_ago(n):
    return timezone.now() - timedelta(days=n)


# --- Home, archive, tags, authors ---


def test_home_leads_with_the_featured_post_then_the_latest(client):
    older_featured = PostFactory(
        title="Featured analysis", is_featured=True, published_at=days_ago(5)
    )
    newest = PostFactory(title="Newest post", published_at=days_ago(1))
    PostFactory(title="Hidden draft", status=Post.Status.DRAFT, published_at=None)
    PostFactory(
        title="Future post",
        status=Post.Status.SCHEDULED,
        published_at=timezone.now() + timedelta(days=1),
    )

    response = client.get("/")
    assert response.context["featured"] == older_featured
    assert list(response.context["posts"]) == [newest]
    html = response.content.decode()
    assert html.index("Featured analysis") < html.index("Newest post")
    assert "Hidden draft" not in html and "Future post" not in html


def test_home_without_a_featured_post_leads_with_the_newest(client):
    PostFactory(title="Older", published_at=days_ago(3))
    newest = PostFactory(title="Newest", published_at=days_ago(1))
    assert client.get("/").context["featured"] == newest


def test_home_cards_show_authors_date_subtitle_and_cover(client):
    author = EditorFactory(display_name="Ada Writer")
    post = PostFactory(subtitle="Why it matters", published_at=timezone.now() - timedelta(hours=2))
    post.authors.add(author)
    html = client.get("/").content.decode()
    assert "Ada Writer" in html and "Why it matters" in html
    assert f'datetime="{post.published_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}"' in html


def test_empty_home_says_so(client):
    assert "No posts yet" in client.get("/").content.decode()


def test_archive_pages_through_every_post_at_a_stable_address(client):
    for n in range(14):
        PostFactory(title=f"Archived {n:02d}", published_at=days_ago(n + 1))
    first = client.get("/archive/")
    assert [p.title for p in first.context["posts"]][:2] == ["Archived 00", "Archived 01"]
    assert len(first.context["posts"]) == 12
    assert 'rel="next" href="?page=2"' in first.content.decode()
    second = client.get("/archive/?page=2")
    assert [p.title for p in second.context["posts"]] == ["Archived 12", "Archived 13"]
    assert '<link rel="canonical" href="http://testserver/archive/?page=2">' in (
        second.content.decode()
    )


@pytest.mark.parametrize("page", ["3", "0", "-1", "abc", "9" * 30, "1'; DROP TABLE x"])
@override_settings(DEBUG=False)
def test_archive_pages_that_do_not_exist_are_a_styled_404(client, page):
    PostFactory()
    response = client.get("/archive/", {"page": page})
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert b"Page not found" in response.content


def test_tag_page_lists_only_that_tags_published_posts(client):
    tag = TagFactory(name="Cities", slug="cities", description="Streets and housing.")
    tagged = PostFactory(title="Tagged post")
    tagged.tags.add(tag)
    draft = PostFactory(title="Tagged draft", status=Post.Status.DRAFT, published_at=None)
    draft.tags.add(tag)
    PostFactory(title="Other post")
    response = client.get("/tag/cities/")
    assert list(response.context["posts"]) == [tagged]
    assert "Streets and housing." in response.content.decode()
    assert client.get("/tag/nope/").status_code == HTTPStatus.NOT_FOUND


def test_author_page_shows_bio_and_their_posts(client):
    author = EditorFactory(display_name="Morgan Writer", bio="Writes about energy.")
    theirs = PostFactory(title="Their post")
    theirs.authors.add(author)
    PostFactory(title="Someone else's")
    response = client.get(f"/author/{author.pk}/")
    assert response.status_code == HTTPStatus.OK
    assert list(response.context["posts"]) == [theirs]
    html = response.content.decode()
    assert "Morgan Writer" in html and "Writes about energy." in html


def test_readers_and_unpublished_authors_have_no_author_page(client, reader):
    staff_without_posts = EditorFactory()
    draft = PostFactory(status=Post.Status.DRAFT, published_at=None)
    draft.authors.add(staff_without_posts)
    assert client.get(f"/author/{reader.pk}/").status_code == HTTPStatus.NOT_FOUND
    assert client.get(f"/author/{staff_without_posts.pk}/").status_code == HTTPStatus.NOT_FOUND


# --- The post page ---


def test_post_page_has_everything_a_reader_expects(client):
    tag = TagFactory(name="Energy", slug="energy")
    author = EditorFactory(display_name="Sam Author", bio="Energy writer.")
    post = PostFactory(
        title="Grid batteries",
        subtitle="Storage is the new peaker plant.",
        body="<h2>Why now</h2><p>" + "word " * 700 + "</p>",
        daily_takeaway="Batteries beat gas for short peaks.",
    )
    post.tags.add(tag)
    post.authors.add(author)
    related = PostFactory(title="Related by tag")
    related.tags.add(tag)

    html = client.get(post.get_absolute_url()).content.decode()
    for expected in [
        '<h1 id="post-title">Grid batteries</h1>',
        "Storage is the new peaker plant.",
        "Sam Author",
        f'href="/author/{author.pk}/"',
        "3 min read",
        "<h2>Why now</h2>",
        "Batteries beat gas for short peaks.",
        'href="/tag/energy/"',
        "Related by tag",
        'id="thumbs-up"',
        "Enjoyed this? Get the next one by email",
        f'value="post:{post.pk}"',  # the subscribe form says which post it came from
    ]:
        assert expected in html, expected
    # Body, then the poll's place, then the takeaway; the comments' place is after the article.
    assert html.index("Why now") < html.index("Daily Takeaway") < html.index("</article>")


def test_share_bar_is_plain_links_to_the_canonical_address(client):
    post = PostFactory(slug="share-me", title="Share & enjoy")
    html = client.get(post.get_absolute_url()).content.decode()
    share = html.split('class="share-bar"', 1)[1].split("</nav>", 1)[0]
    encoded = "http%3A%2F%2Ftestserver%2Fp%2Fshare-me%2F"
    assert f"https://x.com/intent/post?url={encoded}&amp;text=Share+%26+enjoy" in share
    assert f"https://www.linkedin.com/sharing/share-offsite/?url={encoded}" in share
    assert f"https://www.facebook.com/sharer/sharer.php?u={encoded}" in share
    assert "mailto:?subject=Share%20%26%20enjoy&amp;body=" in share
    assert 'href="http://testserver/p/share-me/" class="copy-link" data-copy-link' in share
    assert "<script" not in share and not re.search(r"\son[a-z]+=", share)
    assert re.search(r'<script src="/static/js/posts\.js" defer></script>', html)


def test_post_page_metadata_for_search_engines_and_link_previews(client):
    author = EditorFactory(display_name="Lee Author")
    post = PostFactory(slug="meta", title='Quotes "and" <tags>', subtitle="A summary.")
    post.authors.add(author)
    html = client.get(post.get_absolute_url()).content.decode()
    assert '<link rel="canonical" href="http://testserver/p/meta/">' in html
    assert '<meta property="og:title" content="Quotes &quot;and&quot; &lt;tags&gt;">' in html
    assert '<meta property="og:url" content="http://testserver/p/meta/">' in html
    assert '<meta name="twitter:card" content="summary">' in html
    assert '<meta name="description" content="A summary.">' in html

    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    data = json.loads(block.group(1))
    assert data["@type"] == "Article" and data["headline"] == 'Quotes "and" <tags>'
    assert data["author"][0]["name"] == "Lee Author"
    assert data["mainEntityOfPage"]["@id"] == "http://testserver/p/meta/"
    assert data["isAccessibleForFree"] is True
    assert "<tags>" not in block.group(1)  # escaped inside the data block


def test_json_ld_cannot_be_broken_out_of(client):
    post = PostFactory(title="</script><script>alert(1)</script>", subtitle="<!-- x")
    html = client.get(post.get_absolute_url()).content.decode()
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert json.loads(block.group(1))["headline"] == "</script><script>alert(1)</script>"
    assert "<script>alert(1)" not in html


@override_settings(DEBUG=False)
def test_unknown_and_draft_posts_are_a_styled_404(client):
    draft = PostFactory(status=Post.Status.DRAFT, published_at=None)
    scheduled = PostFactory(
        status=Post.Status.SCHEDULED, published_at=timezone.now() + timedelta(hours=1)
    )
    for url in ["/p/no-such-post/", draft.get_absolute_url(), scheduled.get_absolute_url()]:
        response = client.get(url)
        assert response.status_code == HTTPStatus.NOT_FOUND
        assert b"Page not found" in response.content and b"site-header" in response.content


def test_staff_preview_drafts_at_the_real_address(editor_client, reader):
    draft = PostFactory(status=Post.Status.DRAFT, published_at=None, title="Work in progress")
    response = editor_client.get(draft.get_absolute_url())
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "This is a draft" in html and "Work in progress" in html
    other = Client()
    other.force_login(reader)
    assert other.get(draft.get_absolute_url()).status_code == HTTPStatus.NOT_FOUND


# --- Subscribers-only posts ---

OPENING = "<p>" + "Opening words everyone may read. " * 12 + "</p>"
SECRET = "<p>The members-only conclusion.</p>"


@pytest.fixture
def members_post():
    return PostFactory(
        audience=Post.Audience.SUBSCRIBERS,
        body=OPENING + "<p>" + "More context here. " * 10 + "</p>" + SECRET,
        daily_takeaway="Members-only takeaway.",
    )


def test_anonymous_readers_see_the_opening_and_a_gate(client, members_post):
    html = client.get(members_post.get_absolute_url()).content.decode()
    assert "Opening words everyone may read." in html
    assert "members-only conclusion" not in html and "Members-only takeaway." not in html
    assert "Keep reading with a free subscription" in html
    assert "/accounts/login/code/?next=%2Fp%2F" in html  # login comes back here
    assert f'name="source" value="post:{members_post.pk}"' in html


def test_logged_in_non_subscribers_are_offered_a_one_click_subscribe(client, members_post):
    client.force_login(UserFactory())
    html = client.get(members_post.get_absolute_url()).content.decode()
    assert "members-only conclusion" not in html
    assert 'action="/subscribe/"' in html and "Keep reading" in html


@pytest.mark.parametrize("who", ["subscriber", "editor"])
def test_subscribers_and_staff_read_the_whole_post(client, members_post, who):
    user = SubscriptionFactory().user if who == "subscriber" else EditorFactory()
    client.force_login(user)
    html = client.get(members_post.get_absolute_url()).content.decode()
    assert "members-only conclusion" in html and "Members-only takeaway." in html
    assert "Keep reading with a free subscription" not in html


def test_feeds_carry_only_the_opening_of_subscribers_only_posts(client, members_post):
    for url in ["/feed/", "/feed/atom/"]:
        xml = client.get(url).content.decode()
        assert "Opening words everyone may read." in xml
        assert "members-only conclusion" not in xml
        assert "This post is for subscribers." in xml


def test_feeds_carry_a_public_post_whole_without_its_divider(client):
    PostFactory(body="<p>Opening.</p><!--more--><p>The rest.</p>")
    for url in ["/feed/", "/feed/atom/"]:
        xml = client.get(url).content.decode()
        assert "Opening." in xml and "The rest." in xml
        between = xml.split("Opening.", 1)[1].split("The rest.", 1)[0]
        assert "hr" not in between, between


# --- Feeds, sitemap, robots ---


def test_rss_and_atom_carry_full_public_posts(client):
    author = EditorFactory(display_name="Feed Writer")
    post = PostFactory(title="Feed me", body="<p>Full <strong>body</strong> here.</p>")
    post.authors.add(author)
    PostFactory(title="Not yet", status=Post.Status.DRAFT, published_at=None)

    rss = client.get("/feed/")
    assert rss["Content-Type"].startswith("application/rss+xml")
    channel = ElementTree.fromstring(rss.content).find("channel")  # noqa: S314 (our own feed)
    items = channel.findall("item")
    assert [item.findtext("title") for item in items] == ["Feed me"]
    assert items[0].findtext("link") == "http://testserver/p/" + post.slug + "/"
    assert "<strong>body</strong>" in items[0].findtext("description")

    atom = client.get("/feed/atom/")
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = ElementTree.fromstring(atom.content).findall("a:entry", ns)  # noqa: S314
    assert [e.findtext("a:title", namespaces=ns) for e in entries] == ["Feed me"]
    assert entries[0].find("a:author/a:name", ns).text == "Feed Writer"


def test_sitemap_lists_public_pages_on_the_canonical_host(client, settings):
    settings.SITE_URL = "https://futureforward.example"
    tag = TagFactory(slug="energy")
    post = PostFactory(slug="mapped")
    post.tags.add(tag)
    author = EditorFactory()
    post.authors.add(author)
    PostFactory(slug="draft-not-mapped", status=Post.Status.DRAFT, published_at=None)
    xml = client.get("/sitemap.xml").content.decode()
    for loc in [
        "https://futureforward.example/",
        "https://futureforward.example/archive/",
        "https://futureforward.example/p/mapped/",
        "https://futureforward.example/tag/energy/",
        f"https://futureforward.example/author/{author.pk}/",
    ]:
        assert f"<loc>{loc}</loc>" in xml
    assert "draft-not-mapped" not in xml and "testserver" not in xml


def test_robots_txt_points_at_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert "Sitemap: http://testserver/sitemap.xml" in text
    assert "Disallow: /admin/" in text and "Disallow: /search/" in text


# --- Caching ---


@pytest.mark.parametrize("url", ["/", "/archive/", "/p/cached/", "/feed/", "/sitemap.xml"])
def test_anonymous_pages_send_an_etag_and_answer_304_when_unchanged(client, url):
    PostFactory(slug="cached")
    first = client.get(url)
    etag = first["ETag"]
    assert "private" in first["Cache-Control"] and "no-cache" in first["Cache-Control"]
    again = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == HTTPStatus.NOT_MODIFIED
    assert again.content == b""


def test_the_etag_changes_when_the_page_does(client):
    post = PostFactory(slug="changing", title="Before")
    etag = client.get("/p/changing/")["ETag"]
    post.title = "After"
    post.save()
    response = client.get("/p/changing/", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == HTTPStatus.OK and b"After" in response.content
    etag = response["ETag"]
    # A thumbs up changes the count on the page without touching the post.
    from tests.factories import ThumbsUpFactory

    ThumbsUpFactory(post=post)
    assert client.get("/p/changing/", HTTP_IF_NONE_MATCH=etag).status_code == HTTPStatus.OK


def test_a_scheduled_post_going_live_changes_the_home_pages_etag(client):
    PostFactory(title="Already out")
    later = PostFactory(
        title="Goes out later",
        status=Post.Status.SCHEDULED,
        published_at=timezone.now() + timedelta(hours=1),
    )
    etag = client.get("/")["ETag"]
    Post.objects.filter(pk=later.pk).update(published_at=timezone.now())
    response = client.get("/", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == HTTPStatus.OK and b"Goes out later" in response.content


def test_logged_in_pages_are_never_cached(auth_client):
    PostFactory(slug="mine")
    response = auth_client.get("/p/mine/")
    assert not response.has_header("ETag")
    assert "no-store" in response["Cache-Control"]
    assert auth_client.get("/p/mine/", HTTP_IF_NONE_MATCH="*").status_code == HTTPStatus.OK


def test_head_requests_are_answered_like_get(client):
    PostFactory(slug="headed")
    for url in ["/", "/p/headed/", "/archive/", "/robots.txt"]:
        response = client.head(url)
        assert response.status_code == HTTPStatus.OK, url
