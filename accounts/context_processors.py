from django.conf import settings

from publication.models import Publication


def site(request):
    """Expose the publication's name and absolute URL to every template."""
    return {"SITE_NAME": Publication.objects.current().name, "SITE_URL": settings.SITE_URL}
