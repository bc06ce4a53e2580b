"""The settings reach everything that used to be written in code, without a deploy: the site's
chrome and colours, the page cache, feeds, link previews, the manifest and every email."""

import io
import json
import re
from email.utils import parseaddr

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from newsletter import rendering
from newsletter.models import NewsletterSend
from publication import colors
from publication.models import Publication, PublicationManager
from tests.factories import PostFactory, SubscriptionFactory, UserFactory
from tests.posts.pictures import png_bytes

pytestmark = pytest.mark.django_db


def change(publication: Publication, **values) -> Publication:
    for name, value in values.items():
        setattr(publication, name, value)
    publication.save()
    return Publication.objects.current()


def with_logo(publication: Publication, size=(400, 100)) -> Publication:
    publication.logo.save("logo.png", ContentFile(png_bytes(size)), save=False)
    return change(publication)


# --- The site -----------------------------------------------------------------------------


def test_the_site_stylesheet_carries_the_accents_from_our_own_url(client, publication):
    change(publication, accent_color="#7a1f5c", accent_color_dark="#f0a6ca")
    home = client.get("/").content.decode()
    href = re.search(r'<link rel="stylesheet" href="(/theme\.css\?v=\d+)">', home).group(1)
    response = client.get(href)
    assert response["Content-Type"] == "text/css; charset=utf-8"
    assert "immutable" in response["Cache-Control"]
    css = response.content.decode()
    assert ":root { --accent: #7a1f5c; --accent-ink: #ffffff; }" in css
    assert ":root { --accent: #f0a6ca; --accent-ink: #0b1a22; }" in css
    assert '<meta name="theme-color" content="#7a1f5c">' in home
    # Nothing inline for the CSP to refuse: no <style> block, no style attribute.
    assert "<style" not in home and " style=" not in home


def test_a_stale_theme_url_is_not_kept_at_all(client, publication):
    assert client.get("/theme.css?v=1")["Cache-Control"] == "no-cache"


def test_a_page_with_newer_settings_makes_a_lagging_process_read_them(client, publication):
    """A page rendered by a process that already saw a save asks for the new stamp's colours;
    this process, still holding the old settings, reads them rather than answer old colours
    under the new URL."""
    Publication.objects.filter(pk=1).update(accent_color="#7a1f5c", updated_at=timezone.now())
    stamp = Publication.objects.get().stamp
    response = client.get(f"/theme.css?v={stamp}")
    assert "--accent: #7a1f5c" in response.content.decode()
    assert "immutable" in response["Cache-Control"]


def test_a_saved_change_replaces_pages_the_cache_already_holds(client, publication):
    post = PostFactory(title="Cities after cars")
    for url in ("/", post.get_absolute_url(), "/feed/"):
        assert "Future Forward" in client.get(url).content.decode()
    change(publication, name="The Long View")
    for url in ("/", post.get_absolute_url(), "/feed/"):
        page = client.get(url).content.decode()
        assert ">The Long View<" in page and ">Future Forward<" not in page, url


def test_a_logged_in_readers_cached_header_follows_the_settings(publication):
    post = PostFactory()
    reader = Client()
    reader.force_login(SubscriptionFactory().user)
    assert ">Future Forward</span>" in reader.get(post.get_absolute_url()).content.decode()
    change(publication, name="The Long View")
    header = reader.get(post.get_absolute_url()).content.decode().split("</header>")[0]
    assert ">The Long View</span>" in header


def test_another_process_sees_a_change_once_its_copy_expires(client, settings, publication):
    """A change saved by another process reaches this one within PUBLICATION_CACHE_SECONDS:
    here the row changes behind the cache's back, as another process's save would."""
    assert "Future Forward" in client.get("/").content.decode()
    Publication.objects.filter(pk=1).update(name="Elsewhere Weekly", updated_at=timezone.now())
    assert "Elsewhere Weekly" not in client.get("/").content.decode()  # still this copy
    settings.PUBLICATION_CACHE_SECONDS = 0
    assert "Elsewhere Weekly" in client.get("/").content.decode()


def test_no_query_for_the_settings_once_they_are_in_memory(publication, django_assert_num_queries):
    Publication.objects.current()
    with django_assert_num_queries(0):
        Publication.objects.current()


def test_the_logo_and_description_reach_link_previews_and_structured_data(client, publication):
    publication = with_logo(publication)
    change(publication, description="Slow news for fast times.")
    home = client.get("/").content.decode()
    logo_url = f"http://testserver{publication.logo.url}"
    assert f'<meta property="og:image" content="{logo_url}">' in home
    assert '<meta property="og:description" content="Slow news for fast times.">' in home
    assert '<meta name="description" content="Slow news for fast times.">' in home
    page = client.get(PostFactory().get_absolute_url()).content.decode()  # a post without cover
    assert f'<meta property="og:image" content="{logo_url}">' in page
    data = json.loads(
        re.search(r'<script type="application/ld\+json"[^>]*>(.*?)</script>', page, re.S).group(1)
    )
    assert data["publisher"]["name"] == "Future Forward"
    assert data["publisher"]["logo"]["url"] == logo_url


def test_the_feeds_take_the_name_and_description(client, publication):
    change(publication, name="The Long View", description="Slow news for fast times.")
    rss = client.get("/feed/").content.decode()
    assert "<title>The Long View</title>" in rss
    assert "<description>Slow news for fast times.</description>" in rss
    atom = client.get("/feed/atom/").content.decode()
    assert "<subtitle>Slow news for fast times.</subtitle>" in atom


def test_the_manifest_takes_the_name_colour_and_favicon(client, publication):
    publication.favicon.save("icon.png", ContentFile(png_bytes((256, 256))), save=False)
    change(publication, name="The Long View", accent_color="#7a1f5c")
    data = json.loads(client.get("/site.webmanifest").content)
    assert data["name"] == "The Long View" and data["theme_color"] == "#7a1f5c"
    assert data["icons"] == [
        {"src": publication.favicon.url, "sizes": "256x256", "type": "image/png"}
    ]


def test_the_backgrounds_checked_are_the_stylesheets(publication):
    """The contrast check uses the colours site.css paints with; the two must not drift."""
    site = rendering.palette()
    light = {site.light["paper"], site.light["paper_soft"], site.light["accent_ink"]}
    dark = {site.dark["paper"], site.dark["paper_soft"], site.dark["accent_ink"]}
    assert {bg for _, bg in colors.LIGHT_BACKGROUNDS} == light
    assert {bg for _, bg in colors.DARK_BACKGROUNDS} == dark
    # And today's accents pass their own check.
    colors.check_accent(site.light["accent"], dark=False)
    colors.check_accent(site.dark["accent"], dark=True)


# --- Email ----------------------------------------------------------------------------------


def test_the_newsletter_email_has_the_name_logo_accent_and_sender(publication):
    publication = with_logo(publication, size=(400, 100))
    change(
        publication,
        name="The Long View",
        sender_name="Ana at The Long View",
        accent_color="#7a1f5c",
    )
    post = PostFactory(body='<p>See <a href="https://example.org/">this</a>.</p>')
    reader = UserFactory()
    message = rendering.personalise(
        rendering.render_newsletter(post=post, mode=NewsletterSend.Mode.FULL, teaser_words=150),
        user=reader,
    )
    assert parseaddr(message.from_email) == ("Ana at The Long View", "newsletter@localhost")
    assert message.extra_headers["List-Id"].startswith("The Long View <")
    html = message.alternatives[0][0]
    assert f'<img src="http://testserver{publication.logo.url}" width="160" height="40"' in html
    assert "The Long View</span>" in html
    assert 'style="color:#7a1f5c;text-decoration:underline"' in html  # links in the body
    assert "#0b4f6c" not in html  # the old accent nowhere, dark-mode rules included
    assert message.body.startswith("The Long View\n")


def test_the_welcome_email_is_in_the_editors_words(publication, mailoutbox):
    from newsletter import welcome
    from newsletter.models import Newsletter

    change(publication, name="The Long View", sender_name="The Long View")
    # The words are the welcome series' first step, edited on the newsletter's page.
    newsletter = Newsletter.objects.default()
    newsletter.welcome_steps.update(
        subject="Hello from The Long View",
        body="<p>Thanks for joining.</p><p>Reply to this email to say hello.</p>",
    )
    subscription = SubscriptionFactory()
    welcome.enter_series(user=subscription.user, newsletter=newsletter)
    assert welcome.run_due(worker_id="w") == {"sent": 1}
    (message,) = mailoutbox
    assert message.subject == "Hello from The Long View"
    assert parseaddr(message.from_email)[0] == "The Long View"
    assert "Thanks for joining.\n\nReply to this email to say hello." in message.body
    html = message.alternatives[0][0]
    assert ">Thanks for joining.</p>" in html and ">Reply to this email to say hello.</p>" in html
    assert "The Long View</span>" in html


def test_the_login_code_email_has_the_name_and_sender(client, subscriber, publication, mailoutbox):
    change(publication, name="The Long View", sender_name="The Long View team")
    client.post("/accounts/login/code/", {"email": subscriber.email})
    (message,) = mailoutbox
    assert message.subject.startswith("Your The Long View code: ")
    assert parseaddr(message.from_email) == ("The Long View team", "newsletter@localhost")


def test_cache_is_cleared_in_this_process_on_save(publication):
    assert PublicationManager._cached is not None
    change(publication, tagline="A new line.")
    assert Publication.objects.current().tagline == "A new line."


def test_the_demo_publication_shows_its_profiles_and_seeding_twice_adds_none(client):
    from django.core.management import call_command

    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    assert Publication.objects.get().social_profiles.count() == 2
    footer = client.get("/").content.decode().split('<footer class="site-footer">')[1]
    assert ">Mastodon</a>" in footer and ">Bluesky</a>" in footer


def test_the_outage_page_names_the_publication_without_asking_the_database(
    publication, django_assert_num_queries
):
    from futureforward.outage import database_unavailable

    change(publication, name="The Long View")
    with django_assert_num_queries(0):
        page = database_unavailable().content.decode()
    assert "<title>Back in a moment · The Long View</title>" in page
    assert "The Long View can't reach its database" in page
