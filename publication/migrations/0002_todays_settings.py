"""The one row, holding what the code said before the settings moved to the admin, so an
upgrade changes nothing a reader sees."""

from django.db import migrations

WELCOME_BODY = (
    "Your subscription is confirmed. New posts will arrive in this inbox, with the Daily "
    "Takeaway and the reader poll: you can vote straight from the email.\n\n"
    "On the site you can vote in polls and join the discussion. To log in, ask for a one-time "
    "code with this email address; there is no password to remember."
)


def create(apps, schema_editor):
    Publication = apps.get_model("publication", "Publication")
    publication, created = Publication.objects.get_or_create(
        pk=1,
        defaults={
            "name": "Future Forward",
            "tagline": (
                "Clear, unhurried analysis of what comes next in work, cities, energy and "
                "technology, with reader polls and a real discussion."
            ),
            "description": (
                "Future Forward: analysis of what is next, with reader polls and discussion."
            ),
            "accent_color": "#0b4f6c",
            "accent_color_dark": "#7cc4e4",
            "footer_text": "Written by people, for readers.",
            "sender_name": "Future Forward",
            "welcome_subject": "Welcome to Future Forward",
            "welcome_body": WELCOME_BODY,
        },
    )
    if created:
        links = [("Posts", "/archive/"), ("Search", "/search/")]
        for position, (label, url) in enumerate(links):
            publication.navigation_links.create(label=label, url=url, position=position)


class Migration(migrations.Migration):
    dependencies = [("publication", "0001_publication_settings")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
