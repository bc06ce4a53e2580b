"""schemathesis generates calls from the OpenAPI schema, valid and invalid, and checks every
answer against it: no server error, only documented status codes, bodies of the documented
shape. It calls the WSGI app in-process, once with a key that has every scope and once without
a key, a bounded number of examples per operation."""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from integrations.models import ApiKey
from integrations.services import create_api_key
from newsletter.models import Newsletter
from posts.models import Post
from tests.factories import EditorFactory, PostFactory, TagFactory, ensure_default_newsletter

pytestmark = pytest.mark.django_db

EXAMPLES = 25


def with_client_address(environ, start_response):
    """The WSGI app, called from a client address as a real server passes one."""
    return get_wsgi_application()({**environ, "REMOTE_ADDR": "192.0.2.10"}, start_response)


@pytest.fixture
def api_schema(db):
    tag = TagFactory(slug="climate")
    author = EditorFactory(display_name="Ada Writer")
    for audience in Post.Audience.values:
        post = PostFactory(audience=audience)
        post.tags.add(tag)
        post.authors.add(author)
    ensure_default_newsletter()
    Newsletter.objects.create(name="Weekly", slug="weekly", description="On Sundays.")
    Newsletter.objects.create(name="Old", slug="old", is_archived=True)
    # As Django's test client does: a request that ends must not close the test's connection.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", with_client_address)
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def full_key(db):
    key = ApiKey(name="schemathesis", scopes=ApiKey.Scope.values)
    return create_api_key(key=key, created_by=None)


@pytest.mark.parametrize("with_key", [True, False], ids=["key", "anonymous"])
def test_api_answers_as_its_schema_says(api_schema, full_key, settings_fixture, with_key):
    headers = {"Authorization": f"Bearer {full_key}"} if with_key else {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {operation.path for operation in operations} >= {
        "/api/v1/posts",
        "/api/v1/tags",
        "/api/v1/authors",
        "/api/v1/newsletters",
        "/api/v1/subscriptions",
    }
    for operation in operations:
        run_examples(operation, headers)


def run_examples(operation, headers: dict) -> None:
    # The address rule (look-alikes, mixed alphabets, IDNA) is stricter than a schema can say,
    # so an address the schema allows may still be refused, with a 422 that says why.
    excluded = [positive_data_acceptance] if operation.path == "/api/v1/subscriptions" else []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        case.call_and_validate(headers=headers, excluded_checks=excluded)

    check()


@pytest.fixture
def settings_fixture(settings):
    """Room for every generated call under the rate limits."""
    settings.ACCOUNT_RATE_LIMITS = {
        **settings.ACCOUNT_RATE_LIMITS,
        "api": "1000/m/ip",
        "api_key": "1000/m/key",
    }
