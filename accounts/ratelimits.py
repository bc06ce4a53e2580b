"""Rate limits on readers' own actions (subscribing, votes, reactions, comments, reports).

The limits are written as allauth's are, in ACCOUNT_RATE_LIMITS ("30/m/user", "10/h/ip,3/10m/key")
and keyed the same way: on the reader, on the client address (allauth's, so it honours
DJANGO_TRUSTED_PROXY_COUNT and a forged X-Forwarded-For changes nothing), or on a value such as
an email. The counting is ours. allauth's limiter keeps a list of timestamps in the cache behind
a lock, four cache round trips per check, which on the PostgreSQL cache were a quarter of a
vote's queries. Here a check is one statement on a table every process shares
(accounts.models.RateLimit), counting in fixed windows. allauth's own limits (login codes,
logins) stay allauth's.
"""

from __future__ import annotations

import hashlib
import random

from allauth.account import app_settings as allauth_settings
from allauth.account.adapter import get_adapter

# Private: allauth's public allauth.core.ratelimit counts in the cache (what we avoid, see
# above) and does not expose how it reads a rate or a client address. Its own parser and IP
# truncation keep our limits written and keyed exactly as allauth's (IPv6 per network prefix).
from allauth.core.internal.ratelimit import parse_rates, truncate_ip
from django.http import HttpRequest

from accounts.models import RateLimit

# About one check in this many also deletes windows that have ended.
PURGE_EVERY = 500


def _source(request: HttpRequest, per: str, *, user, key) -> str:
    if per == "ip":
        return f"ip:{truncate_ip(get_adapter().get_client_ip(request))}"
    if per == "user":
        # An email vote link names its reader without a login; otherwise it is who is logged in.
        if user is None:
            if not request.user.is_authenticated:
                raise ValueError("A per-user rate limit needs a logged-in reader.")
            user = request.user
        return f"user:{user.pk}"
    if per == "key":
        if key is None:
            raise ValueError("A per-key rate limit needs a key.")
        return "key:" + hashlib.sha256(key.encode()).hexdigest()
    raise ValueError(f"Unknown rate limit kind {per!r}.")


def consume(request: HttpRequest, *, action: str, user=None, key: str | None = None) -> bool:
    """Count this request against every limit of action; return False if one refuses it.

    A refused request counts against none of them, as with allauth: a reader who waits gets
    the whole allowance back, however often they were refused.
    """
    counted = []
    for rate in parse_rates(allauth_settings.RATE_LIMITS.get(action)):
        limit_key = f"{action}:{rate}:{_source(request, rate.per, user=user, key=key)}"
        if not RateLimit.objects.hit(limit_key, limit=rate.amount, seconds=rate.duration):
            for earlier in counted:
                RateLimit.objects.give_back(earlier)
            return False
        counted.append(limit_key)
    if counted and random.randrange(PURGE_EVERY) == 0:  # noqa: S311 (not security)  # nosec
        RateLimit.objects.purge_expired()
    return True
