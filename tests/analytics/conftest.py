import re

import pytest

from analytics import counting

BROWSER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
OTHER_BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Gecko/20100101 Firefox/133.0"
CRAWLER = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


@pytest.fixture(autouse=True)
def _fresh_counts():
    """Each test starts with nothing waiting in this process's buffer and no remembered salt
    (the salt rows roll back with the test's transaction; the process's copy would not)."""
    counting._take()
    counting._salts.clear()
    yield
    counting._take()
    counting._salts.clear()


def visit(client, url, *, browser=BROWSER, address="203.0.113.7", **headers):
    """GET url as a browser from address; return the response."""
    return client.get(url, headers={"User-Agent": browser, **headers}, REMOTE_ADDR=address)


def site_links(html: str) -> list[str]:
    """Return the marked links to this site in an email's HTML, in order."""
    return re.findall(r'href="(http://testserver/[^"]*ff=[^"]*)"', html)
