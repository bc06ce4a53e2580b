"""The poll on the post page and the vote endpoint: readers, permissions, htmx, bad input."""

import re
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.test import Client, RequestFactory
from django.utils import timezone

from polls.models import Poll, Vote
from posts.models import Post
from tests.factories import PollFactory, PostFactory, UserFactory, VoteFactory
from tests.polls.conftest import choice_ids

pytestmark = pytest.mark.django_db

GATE = "Login or Subscribe to participate in polls."


def text_of(html: str) -> str:
    """The page's text as a reader sees it, tags removed and whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace(" .", ".").strip()


def poll_html(response, poll) -> str:
    html = response.content.decode()
    start = html.index(f'id="poll-{poll.pk}"')
    return html[start : html.index("</section>", start)]


def vote_path(poll) -> str:
    return f"/polls/{poll.pk}/vote/"


class TestAnonymousReader:
    def test_sees_question_and_choices_but_nothing_to_click(self, client, poll):
        html = poll_html(client.get(poll.post.get_absolute_url()), poll)
        assert "How do you feel about the four-day week?" in html
        for text in ["Hopeful", "Worried", "Not sure"]:
            assert text in html
        assert "<form" not in html and "<input" not in html and "<button" not in html

    def test_sees_the_gate_line_with_links_back_to_the_post(self, client, poll):
        html = poll_html(client.get(poll.post.get_absolute_url()), poll)
        assert GATE in text_of(html)
        back = f"/p/{poll.post.slug}/"  # its top, where the "signed in" message shows
        assert f'href="/accounts/login/code/?next={back}"' in html
        assert f'href="/subscribe/?next={back}"' in html

    def test_login_link_brings_the_reader_back_to_the_post(self, client, poll):
        html = poll_html(client.get(poll.post.get_absolute_url()), poll)
        login = re.search(r'href="(/accounts/login/code/\?next=[^"]+)"', html).group(1)
        page = client.get(login).content.decode()
        assert f'value="/p/{poll.post.slug}/"' in page

    def test_each_choice_leads_to_subscribing_and_back_with_it_picked(self, client, poll):
        html = poll_html(client.get(poll.post.get_absolute_url()), poll)
        for choice in poll.choices.all():
            back = f"/p/{poll.post.slug}/%3Fpick%3D{choice.pk}"
            assert f'href="/subscribe/?next={back}"' in html

    def test_does_not_see_results_unless_the_editor_allows(self, client):
        hidden = PollFactory(show_results_before_voting=False)
        VoteFactory(poll=hidden)
        assert "100%" not in text_of(poll_html(client.get(hidden.post.get_absolute_url()), hidden))

        shown = PollFactory(show_results_before_voting=True)
        VoteFactory(poll=shown, choice=shown.choices.first())
        html = poll_html(client.get(shown.post.get_absolute_url()), shown)
        assert "100%" in html and GATE in text_of(html)

    def test_cannot_vote(self, client, poll):
        response = client.post(vote_path(poll), {"choice": choice_ids(poll)[0]})
        assert response.status_code == HTTPStatus.FORBIDDEN
        assert "Log in with a confirmed email to vote." in response.content.decode()
        assert not Vote.objects.exists()


class TestUnverifiedReader:
    def test_sees_the_gate_and_cannot_vote(self, client, poll):
        client.force_login(UserFactory(verified=False))
        assert GATE in text_of(poll_html(client.get(poll.post.get_absolute_url()), poll))
        response = client.post(vote_path(poll), {"choice": choice_ids(poll)[0]})
        assert response.status_code == HTTPStatus.FORBIDDEN
        assert not Vote.objects.exists()


class TestParticipatingReader:
    def test_sees_a_form_with_one_radio_per_choice(self, auth_client, poll):
        html = poll_html(auth_client.get(poll.post.get_absolute_url()), poll)
        assert GATE not in text_of(html)
        assert html.count('type="radio"') == 3
        assert f'action="/polls/{poll.pk}/vote/"' in html and ">Vote</button>" in html

    def test_votes_with_a_plain_post_and_comes_back_to_the_poll(self, auth_client, poll):
        first, second, _ = choice_ids(poll)
        VoteFactory(poll=poll, choice_id=second)

        response = auth_client.post(vote_path(poll), {"choice": first})

        assert response.status_code == HTTPStatus.FOUND
        assert response["Location"] == f"/p/{poll.post.slug}/#poll-{poll.pk}"
        assert Vote.objects.get(poll=poll, user=auth_client.user).choice_id == first
        html = poll_html(auth_client.get(response["Location"]), poll)
        reader_text = text_of(html)
        assert "Hopeful Your vote 50%" in reader_text
        assert "Worried 50%" in reader_text and "2 voters" in reader_text

    def test_votes_in_place_with_htmx(self, auth_client, poll):
        first = choice_ids(poll)[0]
        response = auth_client.post(
            vote_path(poll), {"choice": first}, headers={"HX-Request": "true"}
        )
        assert response.status_code == HTTPStatus.OK
        html = response.content.decode()
        assert html.lstrip().startswith("<section") and "<html" not in html
        assert "Thanks, your vote is counted." in html and "Your vote" in html
        assert "HX-Request" in response["Vary"]
        assert Vote.objects.filter(poll=poll, user=auth_client.user).count() == 1

    def test_can_change_the_vote_while_the_poll_is_open(self, auth_client, poll):
        first, second, _ = choice_ids(poll)
        auth_client.post(vote_path(poll), {"choice": first})
        html = poll_html(auth_client.get(poll.post.get_absolute_url()), poll)
        assert "Change my vote" in html

        response = auth_client.post(
            vote_path(poll), {"choice": second}, headers={"HX-Request": "true"}
        )

        assert "Your vote is changed." in response.content.decode()
        assert Vote.objects.get(poll=poll, user=auth_client.user).choice_id == second

    def test_cannot_change_when_the_editor_said_no(self, auth_client):
        poll = PollFactory(allow_vote_change=False)
        first, second, _ = choice_ids(poll)
        auth_client.post(vote_path(poll), {"choice": first})
        assert "Change my vote" not in poll_html(
            auth_client.get(poll.post.get_absolute_url()), poll
        )

        response = auth_client.post(vote_path(poll), {"choice": second})

        assert response.status_code == HTTPStatus.CONFLICT
        assert "votes cannot be changed" in response.content.decode()
        assert Vote.objects.get(poll=poll, user=auth_client.user).choice_id == first

    def test_sees_current_results_before_voting_when_allowed(self, auth_client):
        poll = PollFactory(show_results_before_voting=True)
        VoteFactory(poll=poll, choice=poll.choices.first())
        html = poll_html(auth_client.get(poll.post.get_absolute_url()), poll)
        assert 'type="radio"' in html and "100%" in html and "1 voter so far" in html


class TestClosedAndScheduledPolls:
    def test_a_closed_poll_shows_final_results_to_everyone(self, client, auth_client):
        poll = PollFactory(closes_at=timezone.now() - timedelta(hours=1))
        VoteFactory(poll=poll, choice=poll.choices.first())
        for who in [Client(), auth_client]:
            html = poll_html(who.get(poll.post.get_absolute_url()), poll)
            assert "final results" in html and "100%" in html and "1 voter" in html
            assert "<form" not in html and GATE not in text_of(html)

    def test_a_closed_poll_refuses_votes(self, auth_client):
        poll = PollFactory(closes_at=timezone.now() - timedelta(hours=1))
        response = auth_client.post(vote_path(poll), {"choice": choice_ids(poll)[0]})
        assert response.status_code == HTTPStatus.FORBIDDEN
        assert "This poll is closed" in response.content.decode()
        assert not Vote.objects.exists()

    def test_a_poll_not_open_yet_shows_when_it_opens_and_refuses_votes(self, auth_client):
        poll = PollFactory(opens_at=timezone.now() + timedelta(days=1))
        html = poll_html(auth_client.get(poll.post.get_absolute_url()), poll)
        assert "This poll opens" in html and "<form" not in html
        response = auth_client.post(vote_path(poll), {"choice": choice_ids(poll)[0]})
        assert response.status_code == HTTPStatus.FORBIDDEN
        assert "not open yet" in response.content.decode()
        assert not Vote.objects.exists()

    def test_a_draft_posts_poll_is_not_found_for_readers(self, auth_client):
        poll = PollFactory(post=PostFactory(status=Post.Status.DRAFT, published_at=None))
        response = auth_client.post(vote_path(poll), {"choice": choice_ids(poll)[0]})
        assert response.status_code == HTTPStatus.NOT_FOUND
        assert not Vote.objects.exists()


class TestBadInput:
    @pytest.mark.parametrize("value", ["", "abc", "1.5", "99999999999999999999999", "-1", "0"])
    def test_malformed_choices_are_refused_with_a_message(self, auth_client, poll, value):
        response = auth_client.post(vote_path(poll), {"choice": value})
        assert response.status_code == HTTPStatus.BAD_REQUEST
        body = response.content.decode()
        assert "Pick a choice first." in body or "That choice is not part of this poll." in body
        assert not Vote.objects.exists()

    def test_a_choice_from_another_poll_is_refused(self, auth_client, poll):
        other = PollFactory()
        response = auth_client.post(vote_path(poll), {"choice": choice_ids(other)[0]})
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert "That choice is not part of this poll." in response.content.decode()
        assert not Vote.objects.exists()

    def test_a_missing_choice_in_htmx_shows_the_message_in_place(self, auth_client, poll):
        response = auth_client.post(vote_path(poll), {}, headers={"HX-Request": "true"})
        assert response.status_code == HTTPStatus.BAD_REQUEST
        html = response.content.decode()
        assert "<html" not in html and "Pick a choice first." in html

    @pytest.mark.parametrize(
        "path",
        [
            "/polls/abc/vote/",
            "/polls/1e3/vote/",
            "/polls/99999999999999999999/vote/",
            "/polls/123456/vote/",
        ],
    )
    def test_bad_or_unknown_poll_ids_are_not_found(self, auth_client, poll, path):
        assert auth_client.post(path, {"choice": 1}).status_code == HTTPStatus.NOT_FOUND
        assert not Vote.objects.exists()

    def test_get_is_not_allowed(self, auth_client, poll):
        assert auth_client.get(vote_path(poll)).status_code == HTTPStatus.METHOD_NOT_ALLOWED

    def test_a_missing_csrf_token_is_refused(self, subscriber, poll):
        client = Client(enforce_csrf_checks=True)
        client.force_login(subscriber)
        response = client.post(vote_path(poll), {"choice": choice_ids(poll)[0]})
        assert response.status_code == HTTPStatus.FORBIDDEN
        assert not Vote.objects.exists()

    def test_the_real_form_passes_csrf(self, subscriber, poll):
        client = Client(enforce_csrf_checks=True)
        client.force_login(subscriber)
        html = client.get(poll.post.get_absolute_url()).content.decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        response = client.post(
            vote_path(poll), {"choice": choice_ids(poll)[0], "csrfmiddlewaretoken": token}
        )
        assert response.status_code == HTTPStatus.FOUND
        assert Vote.objects.filter(user=subscriber).count() == 1

    def test_votes_are_rate_limited(self, settings, auth_client, poll):
        settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "vote": "2/m/user"}
        first, second, _ = choice_ids(poll)
        assert auth_client.post(vote_path(poll), {"choice": first}).status_code == HTTPStatus.FOUND
        assert auth_client.post(vote_path(poll), {"choice": second}).status_code == HTTPStatus.FOUND
        response = auth_client.post(
            vote_path(poll), {"choice": first}, headers={"HX-Request": "true"}
        )
        assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
        assert "Too many votes" in response.content.decode()
        assert response["X-Reader-Error"] == "1"  # so the page shows it in place
        assert Vote.objects.get(poll=poll, user=auth_client.user).choice_id == second


class TestTemplateTag:
    def render(self, source, post, user=None):
        from django.contrib.auth.models import AnonymousUser

        request = RequestFactory().get(post.get_absolute_url())
        request.user = user or AnonymousUser()
        return Template("{% load polls_tags %}" + source).render(
            Context({"request": request, "post": post})
        )

    def test_a_post_without_polls_renders_nothing(self):
        assert self.render("{% post_poll post %}", PostFactory()).strip() == ""

    def test_placement_picks_the_polls_for_each_spot(self):
        post = PostFactory()
        body = PollFactory(post=post, question="Body question?")
        end = PollFactory(post=post, question="End question?", placement=Poll.Placement.END)
        spots = '{% post_poll post placement="after_body" %}|SPLIT|'
        spots += '{% post_poll post placement="end" %}'
        html = self.render(spots, post)
        before, after = html.split("|SPLIT|")
        assert body.question in before and end.question not in before
        assert end.question in after and body.question not in after
        everything = self.render("{% post_poll post %}", post)
        assert body.question in everything and end.question in everything

    def test_an_unknown_placement_is_a_template_error(self):
        post = PollFactory().post
        with pytest.raises(TemplateSyntaxError):
            self.render('{% post_poll post placement="sidebar" %}', post)


def test_post_page_puts_each_poll_where_its_editor_chose(client):
    post = PostFactory(daily_takeaway="Takeaway text.")
    PollFactory(post=post, question="Middle question?")
    PollFactory(post=post, question="Closing question?", placement=Poll.Placement.END)
    html = client.get(post.get_absolute_url()).content.decode()
    takeaway = html.index("Takeaway text.")
    assert html.index("Middle question?") < takeaway < html.index("Closing question?")
