"""Several newsletters, the preference centre and segments, in a real browser: a reader
subscribes to two newsletters, manages them from the link in an email and leaves one; an editor
builds the segment "voted for choice X in poll Y", sends a post to it, and exactly those readers
receive it through the real task worker into a real SMTP listener."""

import re

import pytest
from playwright.sync_api import expect

from newsletter import services
from newsletter.models import Membership, Newsletter, NewsletterSend, Segment
from tests.browsing import shoot
from tests.conftest import code_from_mail
from tests.factories import EditorFactory, PollFactory, PostFactory, VoteFactory, make_subscribers
from tests.newsletter.conftest import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def lists_of(email: str) -> set[str]:
    return set(
        Membership.objects.filter(
            user__email=email, status=Membership.Status.SUBSCRIBED
        ).values_list("newsletter__name", flat=True)
    )


def test_reader_subscribes_to_two_newsletters_and_leaves_one_from_the_email(
    page, live_server, settings, mailoutbox
):
    settings.SITE_URL = live_server.url
    weekly = Newsletter.objects.default()
    weekly.name, weekly.description = "The Weekly", "Every new post, on Fridays."
    weekly.save()
    Newsletter.objects.create(
        name="Climate digest",
        slug="climate",
        description="One letter a month on the climate.",
        is_default=False,
        position=1,
    )
    email = "two.lists@example.com"

    page.goto("/subscribe/")
    expect(page.get_by_label("The Weekly")).to_be_checked()
    expect(page.get_by_label("Climate digest")).not_to_be_checked()
    shoot(page, "subscribe", widths=(1280, 375))
    page.get_by_label("Climate digest").check()
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Send my code").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/code/confirm/"))
    page.get_by_label("Code").fill(code_from_mail(mailoutbox[-1]))
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("button", name="Log out").first).to_be_visible()
    assert lists_of(email) == {"The Weekly", "Climate digest"}

    mailoutbox.clear()
    services.create_send(
        post=PostFactory(title="Trams Are Back"),
        created_by=None,
        mode=NewsletterSend.Mode.FULL,
        teaser_words=150,
        newsletter=weekly,
    )
    (message,) = [m for m in mailoutbox if m.to == [email]]

    # A fresh browser, as if the email were opened on another device: no login needed.
    page.context.clear_cookies()
    page.set_content(message.alternatives[0][0])
    page.get_by_role("link", name="Manage your subscription").click()
    expect(page.get_by_role("heading", name="Your subscription")).to_be_visible()
    expect(page.get_by_label("The Weekly")).to_be_checked()
    expect(page.get_by_label("Climate digest")).to_be_checked()
    shoot(page, "preferences", widths=(1280, 375))

    page.get_by_label("The Weekly").uncheck()
    page.get_by_label("Display name").fill("Two Lists")
    page.get_by_role("button", name="Save my choices").click()
    expect(page.get_by_text("Your choices are saved.")).to_be_visible()
    expect(page.get_by_label("The Weekly")).not_to_be_checked()
    expect(page.get_by_label("Climate digest")).to_be_checked()
    assert lists_of(email) == {"Climate digest"}
    assert Membership.objects.get(user__email=email, newsletter=weekly).unsubscribed_at

    # The next issue of the weekly does not reach them; the digest still does.
    mailoutbox.clear()
    services.create_send(
        post=PostFactory(title="Bikes"),
        created_by=None,
        mode=NewsletterSend.Mode.FULL,
        teaser_words=150,
        newsletter=weekly,
    )
    assert email not in {m.to[0] for m in mailoutbox}


def test_editor_sends_a_post_to_the_voters_of_one_choice(
    watch, smtp_port, start_sink, start_worker
):
    poll = PollFactory(question="Should the city ban cars downtown?", choices=["Yes", "No"])
    yes, no = poll.choices.order_by("position")
    yes_voters = make_subscribers(3, prefix="yes")
    no_voters = make_subscribers(2, prefix="no")
    make_subscribers(4, prefix="silent")
    for reader in yes_voters:
        VoteFactory(poll=poll, choice=yes, user=reader)
    for reader in no_voters:
        VoteFactory(poll=poll, choice=no, user=reader)
    post = PostFactory(title="What the Yes Voters Asked For")

    watcher = watch(EditorFactory())
    page = watcher.page
    watcher.visit("/admin/newsletter/segment/add/")
    page.get_by_label("Name:").fill("Said yes to the car ban")
    page.get_by_label("Answered a poll with:").select_option(
        label="Should the city ban cars downtown? → Yes"
    )
    # The live count follows the conditions (htmx).
    expect(page.locator("#segment-count .segment-count")).to_have_text("3")
    shoot(page, "segment-admin", widths=(1280,))
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("was added successfully")).to_be_visible()
    segment = Segment.objects.get()
    watcher.assert_clean("segment admin")

    sink = start_sink(smtp_port)
    start_worker(smtp_port)
    watcher.visit(f"/admin/posts/post/{post.pk}/newsletter/send/")
    page.get_by_label("Segment:").select_option(label=segment.name)
    page.get_by_role("button", name="Update the count").click()
    expect(page.locator("#recipients-count")).to_have_text("3")
    page.get_by_label("I checked the test email").check()
    page.get_by_role("button", name="Send to 3 subscribers").click()
    expect(page.get_by_text("Sending to 3 subscribers.")).to_be_visible()

    send = NewsletterSend.objects.get(post=post)
    assert send.segment == segment

    def finished():
        send.refresh_from_db()
        return send.status == NewsletterSend.Status.FINISHED

    wait_for(finished, timeout=30)
    assert sorted(sink.recipients()) == sorted(reader.email for reader in yes_voters)
    assert send.sent_count == 3


def test_editor_reads_a_subscribers_history_and_tags_from_the_list(watch):
    from newsletter.models import SubscriberTag
    from tests.factories import CommentFactory

    poll = PollFactory(question="Trams or buses?", choices=["Trams", "Buses"])
    (reader,) = make_subscribers(1, prefix="history")
    VoteFactory(poll=poll, choice=poll.choices.get(text="Trams"), user=reader)
    CommentFactory(author=reader, body="Trams, every time.")
    watcher = watch(EditorFactory())
    page = watcher.page
    watcher.visit("/admin/accounts/subscription/")
    page.get_by_role("checkbox", name="Select this object for an action").first.check()
    page.get_by_label("Action:").select_option(label="Tag selected subscribers…")
    page.get_by_role("button", name="Go").click()
    page.get_by_label("or a new tag:").fill("Tram fans")
    page.get_by_role("button", name="Add the tag").click()
    expect(page.get_by_text("added to 1 subscribers")).to_be_visible()
    assert list(SubscriberTag.objects.get(name="Tram fans").readers.all()) == [reader]

    watcher.visit(f"/admin/accounts/subscription/{reader.subscription.pk}/change/")
    expect(page.get_by_text("Trams or buses? → Trams")).to_be_visible()
    expect(page.get_by_text("Trams, every time.")).to_be_visible()
    shoot(page, "subscriber-admin", widths=(1280,))
    watcher.assert_clean("subscriber admin")
