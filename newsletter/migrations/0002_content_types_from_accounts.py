# The content types of the moved models keep their rows, now under the newsletter app, so the
# permissions editors and groups hold ("can add newsletter send", ...) and the admin's history
# of these objects stay attached to them.

from django.db import migrations

MODELS = ["newslettersend", "delivery"]


def relabel(apps, schema_editor, *, old, new):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        if ContentType.objects.filter(app_label=new, model=model).exists():
            continue  # already made by a migrate that ran post_migrate with the new app
        ContentType.objects.filter(app_label=old, model=model).update(app_label=new)


def forwards(apps, schema_editor):
    relabel(apps, schema_editor, old="accounts", new="newsletter")


def backwards(apps, schema_editor):
    relabel(apps, schema_editor, old="newsletter", new="accounts")


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("newsletter", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
