"""The newsletter's settings with their defaults (see the README's configuration table)."""

from django.conf import settings

DEFAULTS = {
    "NEWSLETTER_BATCH_SIZE": 100,
    "NEWSLETTER_PARALLEL": 4,
    "NEWSLETTER_SMTP_CONNECTIONS": 4,
    "NEWSLETTER_LEASE_SECONDS": 600,
    "NEWSLETTER_RETRY_SECONDS": 60,
    "NEWSLETTER_RETRY_MAX_SECONDS": 3600,
    "NEWSLETTER_MAX_ATTEMPTS": 5,
    "NEWSLETTER_WATCHDOG_SECONDS": 60,
    "NEWSLETTER_STALL_SECONDS": 300,
    "NEWSLETTER_DURABLE_MARKS": False,
}


def conf(name: str):
    """Return the newsletter setting `name`, or its default."""
    return getattr(settings, name, DEFAULTS[name])
