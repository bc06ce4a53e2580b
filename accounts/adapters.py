import logging

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from accounts import addresses
from publication.models import Publication

logger = logging.getLogger(__name__)


class AccountAdapter(DefaultAccountAdapter):
    """Future Forward's allauth customisations."""

    def format_email_subject(self, subject: str) -> str:
        """allauth's subjects as written: our templates under templates/account/email/ name the
        site where it reads naturally, so a "[Site]" prefix would only repeat it."""
        return subject

    def get_from_email(self) -> str:
        """The publication's sender name (Settings in the admin) on DEFAULT_FROM_EMAIL."""
        return Publication.objects.current().sender()

    def render_mail(self, template_prefix, email, context, headers=None):
        """Every allauth email knows the publication's name, with a request or without."""
        context = {
            "SITE_NAME": Publication.objects.current().name,
            "SITE_URL": settings.SITE_URL,
            **context,
        }
        return super().render_mail(template_prefix, email, context, headers=headers)

    def clean_email(self, email: str) -> str:
        """The site's address rule (accounts.addresses) for every allauth form that calls
        it: adding or changing an address, a password reset, sign-up."""
        return addresses.clean(super().clean_email(email))

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """The last guard: no email of allauth's goes to an address the rule refuses, as IDNA
        would deliver some of them to another mailbox (an address typed before the rule
        existed, or through a form that forgot it)."""
        if addresses.problem(email):
            logger.warning(
                "Email %s not sent: the address breaks the address rule.", template_prefix
            )
            return
        super().send_mail(template_prefix, email, context)

    def populate_username(self, request, user) -> None:
        # No username field: nothing to fill in.
        return None

    def get_client_ip(self, request) -> str:
        """The client's address for rate limits: the one our last trusted proxy saw
        (DJANGO_TRUSTED_PROXY_COUNT), so an X-Forwarded-For a client writes itself changes
        nothing. A request whose header is shorter than the proxy chain did not come through
        the proxies at all: its own connection address is the truth, not a server error."""
        try:
            return super().get_client_ip(request)
        except ImproperlyConfigured:
            return request.META["REMOTE_ADDR"]
