"""Every save keeps a revision; two editors on one post are told, not overwritten; revisions
are compared in words and restored, and a restore on a post that moved on is refused."""

import re
from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse

from posts.models import Post, PostRevision
from posts.revisions.models import KEEP_REVISIONS
from posts.services import record_revision
from tests.concurrency import run_at_once
from tests.factories import EditorFactory, PostFactory
from tests.posts.admin_forms import admin_form_data

pytestmark = pytest.mark.django_db


def url(post, name, *args):
    return reverse(f"admin:posts_post_{name}", args=[post.pk, *args])


def client_for(editor) -> Client:
    client = Client()
    client.force_login(editor)
    return client


@pytest.fixture
def ada():
    return EditorFactory(display_name="Ada Writer")


@pytest.fixture
def ben():
    return EditorFactory(display_name="Ben Writer")


def messages_of(response) -> str:
    return " ".join(str(m) for m in response.context["messages"]) if response.context else ""


def test_every_save_keeps_a_revision_and_the_words_before_the_first(ada):
    post = PostFactory(title="First words", body="<p>Original body.</p>")
    client = client_for(ada)
    for title in ["Second words", "Third words"]:
        response = client.post(
            url(post, "change"), admin_form_data(client, url(post, "change"), title=title)
        )
        assert response.status_code == HTTPStatus.FOUND

    post.refresh_from_db()
    assert post.version == 3
    revisions = list(post.revisions.order_by("version"))
    assert [(r.version, r.title) for r in revisions] == [
        (1, "First words"),
        (2, "Second words"),
        (3, "Third words"),
    ]
    assert revisions[0].author is None and revisions[2].author == ada
    page = client.get(url(post, "revisions")).content.decode()
    assert "Ada Writer" in page and "Third words" in page and "(current)" in page


def test_the_second_editor_is_told_who_changed_the_post_and_nothing_is_lost(ada, ben):
    post = PostFactory(title="Shared story", body="<p>Start.</p>")
    ada_client, ben_client = client_for(ada), client_for(ben)
    ada_form = admin_form_data(ada_client, url(post, "change"), title="Ada's headline")
    ben_form = admin_form_data(ben_client, url(post, "change"), body="<p>Ben's paragraph.</p>")

    assert ada_client.post(url(post, "change"), ada_form).status_code == HTTPStatus.FOUND
    response = ben_client.post(url(post, "change"), ben_form)

    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert "Ada Writer saved this post at" in page
    assert "version 2" in page and "Your changes are not saved yet" in page
    # Ben still has his words in the form, and a link to what Ada changed.
    assert "Ben&#x27;s paragraph." in page or "Ben's paragraph." in page
    ada_revision = post.revisions.get(version=2)
    assert f"b={ada_revision.pk}" in page
    post.refresh_from_db()
    assert (post.title, post.body, post.version) == ("Ada's headline", "<p>Start.</p>", 2)

    # What Ada changed, compared with the version Ben started from.
    compare = ben_client.get(
        re.search(r'href="([^"]*revisions/compare/[^"]*)"', page).group(1).replace("&amp;", "&")
    )
    assert "<del>Shared story</del><ins>Ada&#x27;s headline</ins>" in compare.content.decode()

    # Saving again on purpose replaces Ada's words; hers stay in the revisions.
    again = admin_form_data(ben_client, url(post, "change"))
    again.update(title="Shared story", body="<p>Ben's paragraph.</p>", base_version="2")
    assert ben_client.post(url(post, "change"), again).status_code == HTTPStatus.FOUND
    post.refresh_from_db()
    assert post.body == "<p>Ben's paragraph.</p>" and post.version == 3
    assert post.revisions.get(version=2).title == "Ada's headline"


def test_a_resubmitted_form_from_the_conflict_page_wins(ada, ben):
    """The form shown with the conflict carries the current version: Save again wins."""
    post = PostFactory(title="One")
    ada_client, ben_client = client_for(ada), client_for(ben)
    ben_form = admin_form_data(ben_client, url(post, "change"), title="Ben's")
    ada_client.post(
        url(post, "change"), admin_form_data(ada_client, url(post, "change"), title="Ada's")
    )
    refused = ben_client.post(url(post, "change"), ben_form)
    assert refused.status_code == HTTPStatus.OK
    assert re.search(r'name="base_version" value="2"', refused.content.decode())
    assert (
        ben_client.post(url(post, "change"), {**ben_form, "base_version": "2"}).status_code == 302
    )
    post.refresh_from_db()
    assert post.title == "Ben's"


def test_the_same_form_sent_twice_is_no_conflict(ada):
    post = PostFactory(status=Post.Status.DRAFT, published_at=None, title="Draft one")
    client = client_for(ada)
    form = admin_form_data(client, url(post, "change"), title="Ready", status="published")
    first = client.post(url(post, "change"), form)
    second = client.post(url(post, "change"), form)
    assert (first.status_code, second.status_code) == (HTTPStatus.FOUND, HTTPStatus.FOUND)
    post.refresh_from_db()
    assert post.is_published() and post.title == "Ready"


def test_a_form_without_a_version_is_refused_when_it_would_change_words(ada):
    post = PostFactory(title="Kept")
    client = client_for(ada)
    form = admin_form_data(client, url(post, "change"), title="Changed", base_version=None)
    response = client.post(url(post, "change"), form)
    assert response.status_code == HTTPStatus.OK
    assert "after you opened it" in response.content.decode()
    post.refresh_from_db()
    assert post.title == "Kept"


@pytest.mark.django_db(transaction=True)
def test_two_saves_from_the_same_version_at_once_exactly_one_wins(ada, ben):
    post = PostFactory(title="Race")
    clients = [client_for(ada), client_for(ben)]
    forms = [
        admin_form_data(clients[0], url(post, "change"), title="Ada wins"),
        admin_form_data(clients[1], url(post, "change"), title="Ben wins"),
    ]
    outcomes = run_at_once(2, lambda i: clients[i].post(url(post, "change"), forms[i]))

    codes = sorted(outcome.status_code for outcome in outcomes)
    assert codes == [HTTPStatus.OK, HTTPStatus.FOUND]
    loser = next(o for o in outcomes if o.status_code == HTTPStatus.OK).content.decode()
    assert "saved this post at" in loser
    post.refresh_from_db()
    assert post.version == 2
    assert post.title in {"Ada wins", "Ben wins"}
    assert list(post.revisions.values_list("version", flat=True).order_by("version")) == [1, 2]


def test_compare_shows_removed_and_added_words_escaped(ada):
    post = PostFactory(title="Old <b>title</b>", body="<p>Same paragraph.</p><p>The cat sat.</p>")
    client = client_for(ada)
    client.post(
        url(post, "change"),
        admin_form_data(
            client,
            url(post, "change"),
            title="New <b>title</b>",
            body="<p>Same paragraph.</p><p>The dog sat.</p><p>A new ending.</p>",
        ),
    )
    old, new = post.revisions.order_by("version")
    response = client.get(url(post, "compare") + f"?a={new.pk}&b={old.pk}")
    page = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "From version 1" in page and "to version 2" in page
    assert "<del>Old</del><ins>New</ins> &lt;b&gt;title&lt;/b&gt;" in page
    assert "The <del>cat</del><ins>dog</ins> sat." in page
    assert (
        '<p class="ff-line-added"><span class="visually-hidden">Added: </span>'
        "<ins>A new ending.</ins>" in page
    )
    assert '<p class="ff-line-same">Same paragraph.</p>' in page


def test_compare_of_another_posts_revision_is_not_found(ada):
    post, other = PostFactory(), PostFactory()
    mine = record_revision(post=post, author=ada)
    theirs = record_revision(post=other, author=ada)
    response = client_for(ada).get(url(post, "compare") + f"?a={mine.pk}&b={theirs.pk}")
    assert response.status_code == HTTPStatus.NOT_FOUND


def test_restore_puts_the_words_back_as_a_new_version(ada):
    post = PostFactory(title="Good title", body="<p>Good body.</p>")
    client = client_for(ada)
    client.post(
        url(post, "change"),
        admin_form_data(client, url(post, "change"), title="Bad title", body="<p>Bad.</p>"),
    )
    first = post.revisions.get(version=1)
    response = client.post(url(post, "restore", first.pk), {"base_version": "2"}, follow=True)
    assert "Version 1 is restored as version 3." in messages_of(response)
    post.refresh_from_db()
    assert (post.title, post.body, post.version) == ("Good title", "<p>Good body.</p>", 3)
    restored = post.revisions.get(version=3)
    assert (restored.kind, restored.restored_from, restored.author) == ("restore", 1, ada)
    # Readers of the live post see the restored words.
    assert "Good body." in Client().get(post.get_absolute_url()).content.decode()


def test_restore_on_a_post_another_editor_changed_meanwhile_is_refused(ada, ben):
    post = PostFactory(title="Original")
    ada_client, ben_client = client_for(ada), client_for(ben)
    ada_client.post(
        url(post, "change"), admin_form_data(ada_client, url(post, "change"), title="Ada 2")
    )
    revisions_page = ben_client.get(url(post, "revisions")).content.decode()
    assert 'name="base_version" value="2"' in revisions_page
    # Ada saves again while Ben looks at the revisions.
    ada_client.post(
        url(post, "change"), admin_form_data(ada_client, url(post, "change"), title="Ada 3")
    )

    first = post.revisions.get(version=1)
    response = ben_client.post(url(post, "restore", first.pk), {"base_version": "2"}, follow=True)
    text = messages_of(response)
    assert "Ada Writer saved this post at" in text and "Nothing was restored" in text
    post.refresh_from_db()
    assert (post.title, post.version) == ("Ada 3", 3)


def test_restore_of_a_revision_of_another_post_is_not_found(ada):
    post, other = PostFactory(title="Mine"), PostFactory(title="Theirs")
    theirs = record_revision(post=other, author=ada)
    response = client_for(ada).post(url(post, "restore", theirs.pk), {"base_version": "1"})
    assert response.status_code == HTTPStatus.NOT_FOUND
    post.refresh_from_db()
    assert post.title == "Mine" and post.version == 1


def test_restore_is_a_post_only(ada):
    post = PostFactory()
    revision = record_revision(post=post, author=ada)
    assert client_for(ada).get(url(post, "restore", revision.pk)).status_code == 405


def test_only_the_newest_revisions_are_kept(ada):
    post = PostFactory()
    for _ in range(KEEP_REVISIONS + 3):
        post.version += 1
        Post.objects.filter(pk=post.pk).update(version=post.version)
        record_revision(post=post, author=ada)
    versions = list(PostRevision.objects.filter(post=post).values_list("version", flat=True))
    assert len(versions) == KEEP_REVISIONS
    assert max(versions) == post.version and min(versions) == post.version - KEEP_REVISIONS + 1


def test_an_edit_form_opened_before_a_publish_action_is_told(ada, ben):
    """Publishing from the list moves the post on, so a form opened before cannot quietly put
    the post back to draft."""
    post = PostFactory(status=Post.Status.DRAFT, published_at=None, title="Quiet")
    ben_client = client_for(ben)
    ben_form = admin_form_data(ben_client, url(post, "change"), title="Ben's retitle")

    ada_client = client_for(ada)
    response = ada_client.post(
        reverse("admin:posts_post_changelist"),
        {"action": "publish_now", "_selected_action": [post.pk]},
    )
    assert response.status_code == HTTPStatus.FOUND
    post.refresh_from_db()
    assert post.is_published() and post.version == 2
    assert post.revisions.get(version=2).get_kind_display() == "Published or unpublished"

    refused = ben_client.post(url(post, "change"), ben_form)
    assert refused.status_code == HTTPStatus.OK
    assert "Ada Writer saved this post at" in refused.content.decode()
    post.refresh_from_db()
    assert post.is_published() and post.title == "Quiet"
