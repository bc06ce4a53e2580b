from publication.models import Publication


def publication(request):
    """Expose the publication's settings to every template as ``publication``."""
    return {"publication": Publication.objects.current()}
