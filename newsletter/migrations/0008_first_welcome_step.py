# The fixed welcome email becomes the first, editable step of the default newsletter's welcome
# series: the same subject and text, sent at once, with the button to the latest post.

from django.conf import settings
from django.db import migrations

INTRO = (
    "Your subscription is confirmed. New posts will arrive in this inbox, with the Daily "
    "Takeaway and the reader poll: you can vote straight from the email."
)
LOGIN = (
    "On the site you can vote in polls and join the discussion. To log in, ask for a one-time "
    "code with this email address; there is no password to remember."
)


def first_step(site_name: str) -> dict:
    return {
        "position": 0,
        "subject": f"Welcome to {site_name}",
        "body": f"<p>{INTRO}</p><p>{LOGIN}</p>",
        "delay_hours": 0,
        "delay_from": "signup",
        "show_latest_post": True,
        "is_active": True,
    }


def forwards(apps, schema_editor):
    Newsletter = apps.get_model("newsletter", "Newsletter")
    WelcomeStep = apps.get_model("newsletter", "WelcomeStep")
    site_name = getattr(settings, "SITE_NAME", "Newsletter")
    default = (
        Newsletter.objects.filter(is_archived=False, is_default=True)
        .order_by("position", "pk")
        .first()
    )
    if default is None:
        default, _ = Newsletter.objects.get_or_create(
            slug="newsletter", defaults={"name": site_name, "is_default": True}
        )
    if not WelcomeStep.objects.filter(newsletter=default).exists():
        WelcomeStep.objects.create(newsletter=default, **first_step(site_name))


class Migration(migrations.Migration):
    dependencies = [("newsletter", "0007_welcome_series")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
