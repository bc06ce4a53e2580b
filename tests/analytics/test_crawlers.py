"""The fast crawler check gives the maintained list's own answers."""

import crawleruseragents
import pytest

from analytics.crawlers import is_crawler
from tests.analytics.conftest import BROWSER, OTHER_BROWSER

pytestmark = pytest.mark.django_db  # the suite's autouse fixtures empty the shared cache

EXAMPLES = [
    example
    for entry in crawleruseragents.CRAWLER_USER_AGENTS_DATA
    for example in entry.get("instances", [])
]


def test_every_example_the_list_ships_is_a_crawler_here_too():
    assert len(EXAMPLES) > 1000
    missed = [example for example in EXAMPLES if not is_crawler.__wrapped__(example)]
    assert missed == []


@pytest.mark.parametrize(
    "browser",
    [
        BROWSER,
        OTHER_BROWSER,
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    ],
)
def test_ordinary_browsers_are_not_crawlers(browser):
    assert is_crawler(browser) is crawleruseragents.is_crawler(browser) is False


@pytest.mark.parametrize(
    "browser",
    [
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "python-requests/2.32.3",
        "curl/8.5.0",
        "Wget/1.21.4",
    ],
)
def test_crawlers_and_link_scanners_are(browser):
    assert is_crawler(browser) is crawleruseragents.is_crawler(browser) is True
