"""Editors: polls inline on the post admin, validation, the results page and the CSV export."""

import csv
import io
from datetime import timedelta
from html.parser import HTMLParser
from http import HTTPStatus

import pytest
from django.utils import timezone

from polls.models import Poll
from posts.models import Post
from tests.factories import PollFactory, PostFactory, UserFactory, VoteFactory

pytestmark = pytest.mark.django_db


class FormValues(HTMLParser):
    """The values a browser would submit for the page's main form, as a dict of lists."""

    def __init__(self, form_id):
        super().__init__()
        self.form_id, self.inside, self.values = form_id, False, {}
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == self.form_id:
            self.inside = True
        if not self.inside or "name" not in attrs and tag != "option":
            return
        if tag == "input":
            kind = attrs.get("type", "text")
            if kind in {"submit", "button", "file", "image"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in attrs:
                return
            default = "on" if kind in {"checkbox", "radio"} else ""
            self.values.setdefault(attrs["name"], []).append(attrs.get("value", default))
        elif tag == "select":
            self._select = attrs["name"]
            self.values.setdefault(self._select, [])
        elif tag == "option" and self._select and "selected" in attrs:
            self.values[self._select].append(attrs.get("value", ""))
        elif tag == "textarea":
            self._textarea = attrs["name"]
            self.values[self._textarea] = [""]

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea][0] += (
                data.lstrip("\n") if not self.values[self._textarea][0] else data
            )


def form_values(client, url, form_id="post_form") -> dict:
    parser = FormValues(form_id)
    parser.feed(client.get(url).content.decode())
    return {
        name: values if len(values) != 1 else values[0] for name, values in parser.values.items()
    }


def poll_fields(index=0, **values) -> dict:
    defaults = {
        "question": "How do you feel about this?",
        "choices_text": "Good\nBad\nNot sure",
        "placement": Poll.Placement.AFTER_BODY,
        "opens_at_0": "",
        "opens_at_1": "",
        "closes_at_0": "",
        "closes_at_1": "",
        "allow_vote_change": "on",
    }
    defaults.update(values)
    return {f"polls-{index}-{key}": value for key, value in defaults.items() if value is not None}


def add_poll_inline(data: dict, **values) -> dict:
    index = int(data["polls-TOTAL_FORMS"])
    data = {**data, **poll_fields(index, **values)}
    data["polls-TOTAL_FORMS"] = str(index + 1)
    return data


def change_url(post) -> str:
    return f"/admin/posts/post/{post.pk}/change/"


def test_editor_adds_a_poll_with_ordered_choices_inline(editor_client):
    post = PostFactory()
    data = add_poll_inline(
        form_values(editor_client, change_url(post)),
        choices_text="  Hopeful \n\nWorried\r\nNot sure\n",
        show_results_before_voting="on",
    )

    response = editor_client.post(change_url(post), data)

    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:3000]
    poll = Poll.objects.get(post=post)
    assert poll.question == "How do you feel about this?"
    assert list(poll.choices.values_list("text", "position")) == [
        ("Hopeful", 0),
        ("Worried", 1),
        ("Not sure", 2),
    ]
    assert poll.show_results_before_voting and poll.allow_vote_change
    assert poll.placement == Poll.Placement.AFTER_BODY


def test_editor_creates_a_post_and_its_poll_in_one_go(editor_client):
    data = form_values(editor_client, "/admin/posts/post/add/")
    data.update(
        {"title": "Fresh post", "slug": "fresh-post", "body": "<p>Hello</p>", "status": "draft"}
    )
    data = add_poll_inline(data, question="Which city next?", choices_text="Lagos\nLima")
    response = editor_client.post("/admin/posts/post/add/", data)
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:3000]
    poll = Poll.objects.get(post__slug="fresh-post")
    assert list(poll.choices.values_list("text", flat=True)) == ["Lagos", "Lima"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"choices_text": "Only one"}, "at least 2"),
        ({"choices_text": "\n".join(f"Choice {n}" for n in range(11))}, "at most 10"),
        ({"choices_text": "Yes\nyes"}, "listed twice"),
        ({"choices_text": ""}, "This field is required"),
        ({"question": ""}, "This field is required"),
        (
            {
                "opens_at_0": "2030-01-02",
                "opens_at_1": "10:00",
                "closes_at_0": "2030-01-01",
                "closes_at_1": "10:00",
            },
            "must close after it opens",
        ),
    ],
)
def test_invalid_polls_are_refused_with_a_message(editor_client, values, message):
    post = PostFactory()
    data = add_poll_inline(form_values(editor_client, change_url(post)), **values)
    response = editor_client.post(change_url(post), data)
    assert response.status_code == HTTPStatus.OK
    assert message in response.content.decode()
    assert not Poll.objects.exists()


def test_editing_choices_keeps_votes_and_refuses_removing_voted_ones(editor_client):
    poll = PollFactory(choices=["Yes", "Noo", "Maybe"])
    noo = poll.choices.get(text="Noo")
    VoteFactory(poll=poll, choice=noo)
    url = change_url(poll.post)
    data = form_values(editor_client, url)
    assert data["polls-0-choices_text"].splitlines() == ["Yes", "Noo", "Maybe"]

    data["polls-0-choices_text"] = "Yes\nMaybe"
    response = editor_client.post(url, data)
    assert response.status_code == HTTPStatus.OK
    assert "Readers voted for “Noo”, so it cannot be removed." in response.content.decode()

    data["polls-0-choices_text"] = "Maybe\nNo\nYes"
    assert editor_client.post(url, data).status_code == HTTPStatus.FOUND
    assert list(poll.choices.values_list("text", flat=True)) == ["Maybe", "No", "Yes"]
    assert poll.choices.get(text="No").pk == noo.pk and noo.votes.count() == 1


def test_the_inline_links_to_the_results(editor_client):
    poll = PollFactory()
    VoteFactory.create_batch(2, poll=poll)
    html = editor_client.get(change_url(poll.post)).content.decode()
    assert "2 voters" in html and f"/admin/polls/poll/{poll.pk}/results/" in html


def test_results_page_shows_counts_percentages_bars_voters_and_days(editor_client):
    poll = PollFactory(choices=["Hopeful", "Worried", "Not sure"])
    hopeful, worried, _ = poll.choices.order_by("position")
    two_days_ago = timezone.now() - timedelta(days=2)
    VoteFactory(poll=poll, choice=hopeful, created_at=two_days_ago)
    VoteFactory(poll=poll, choice=hopeful)
    VoteFactory(poll=poll, choice=worried)

    response = editor_client.get(f"/admin/polls/poll/{poll.pk}/results/")

    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "3 voters" in html
    assert '<progress class="poll-bar" max="100" value="67"' in html
    assert '<progress class="poll-bar" max="100" value="33"' in html
    assert "67%" in html and "33%" in html and ">0%<" in html
    assert html.count('<th scope="row"><time') == 3  # two days ago, yesterday (quiet), today
    assert "Download CSV" in html


def test_csv_export_has_aggregates_and_no_reader_emails(editor_client):
    poll = PollFactory(question="=cmd|' /C calc'!A0", choices=["+1 yes", "No"])
    reader = UserFactory(email="private.person@example.com")
    VoteFactory(poll=poll, choice=poll.choices.get(text="+1 yes"), user=reader)

    response = editor_client.get(f"/admin/polls/poll/{poll.pk}/results.csv")

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="poll-{poll.pk}-results.csv"' in response["Content-Disposition"]
    body = response.content.decode()
    assert "private.person" not in body and "@" not in body
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["question", "'=cmd|' /C calc'!A0"]
    assert ["total voters", "1"] in rows
    assert ["1", "'+1 yes", "1", "100"] in rows and ["2", "No", "0", "0"] in rows
    assert rows[-1] == [timezone.localdate().isoformat(), "1"]


def test_results_and_csv_are_for_staff_only(client, auth_client):
    poll = PollFactory()
    for who in (client, auth_client):
        for suffix in ("results/", "results.csv"):
            response = who.get(f"/admin/polls/poll/{poll.pk}/{suffix}")
            assert response.status_code == HTTPStatus.FOUND
            assert "/login/" in response["Location"]


def test_unknown_poll_results_are_not_found(editor_client):
    assert editor_client.get("/admin/polls/poll/999999/results/").status_code == 404


def test_poll_changelist_and_change_page_work(editor_client):
    poll = PollFactory()
    VoteFactory(poll=poll)
    html = editor_client.get("/admin/polls/poll/").content.decode()
    assert poll.question in html and "Open" in html
    data = form_values(editor_client, f"/admin/polls/poll/{poll.pk}/change/", form_id="poll_form")
    data["question"] = "A sharper question?"
    response = editor_client.post(f"/admin/polls/poll/{poll.pk}/change/", data)
    assert response.status_code == HTTPStatus.FOUND
    poll.refresh_from_db()
    assert poll.question == "A sharper question?" and poll.choices.count() == 3


def test_draft_post_preview_shows_the_poll_without_voting(editor_client):
    poll = PollFactory(post=PostFactory(status=Post.Status.DRAFT, published_at=None))
    html = editor_client.get(poll.post.get_absolute_url()).content.decode()
    assert poll.question in html and "Voting opens when the post is published." in html
