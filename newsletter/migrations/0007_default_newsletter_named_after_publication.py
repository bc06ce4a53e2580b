"""The default newsletter takes the publication's name on a fresh install.

Migration 0005 named it after the SITE_NAME setting, which the publication's settings
(publication 0002) replaced; without that setting it fell back to "Newsletter". Installs that
had the setting already carry the right name and are left as they are."""

from django.db import migrations


def name_it(apps, schema_editor):
    Newsletter = apps.get_model("newsletter", "Newsletter")
    Publication = apps.get_model("publication", "Publication")
    publication = Publication.objects.filter(pk=1).first()
    if publication is not None:
        Newsletter.objects.filter(slug="newsletter", name="Newsletter", is_default=True).update(
            name=publication.name
        )


class Migration(migrations.Migration):
    dependencies = [
        ("newsletter", "0006_send_newsletter_required"),
        ("publication", "0002_todays_settings"),
    ]

    operations = [migrations.RunPython(name_it, migrations.RunPython.noop)]
