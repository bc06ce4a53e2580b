# The fixed welcome email becomes the first, editable step of the default newsletter's welcome
# series: the same subject and text (the publication's welcome settings, publication 0002, or
# the text before those existed), sent at once, with the button to the latest post.

from django.db import migrations
from django.utils.html import escape

INTRO = (
    "Your subscription is confirmed. New posts will arrive in this inbox, with the Daily "
    "Takeaway and the reader poll: you can vote straight from the email."
)
LOGIN = (
    "On the site you can vote in polls and join the discussion. To log in, ask for a one-time "
    "code with this email address; there is no password to remember."
)


def paragraphs_html(text: str) -> str:
    blocks = text.replace("\r\n", "\n").split("\n\n")
    return "".join(f"<p>{escape(' '.join(b.split()))}</p>" for b in blocks if b.strip())


def forwards(apps, schema_editor):
    Newsletter = apps.get_model("newsletter", "Newsletter")
    WelcomeStep = apps.get_model("newsletter", "WelcomeStep")
    Publication = apps.get_model("publication", "Publication")
    publication = Publication.objects.filter(pk=1).first()
    name = publication.name if publication else "Future Forward"
    subject = (publication.welcome_subject if publication else "") or f"Welcome to {name}"
    body = paragraphs_html(publication.welcome_body if publication else "")
    default = (
        Newsletter.objects.filter(is_archived=False, is_default=True)
        .order_by("position", "pk")
        .first()
    )
    if default is None:
        default, _ = Newsletter.objects.get_or_create(
            slug="newsletter", defaults={"name": name, "is_default": True}
        )
    if not WelcomeStep.objects.filter(newsletter=default).exists():
        WelcomeStep.objects.create(
            newsletter=default,
            position=0,
            subject=subject,
            body=body or f"<p>{INTRO}</p><p>{LOGIN}</p>",
            delay_hours=0,
            delay_from="signup",
            show_latest_post=True,
            is_active=True,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("newsletter", "0008_welcome_series"),
        ("publication", "0002_todays_settings"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
