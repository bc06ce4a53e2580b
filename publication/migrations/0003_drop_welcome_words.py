# The fixed welcome email's words leave the publication: welcome emails are each newsletter's
# welcome steps now. Newsletter migration 0009 copies these words into the default newsletter's
# first step, reading the columns through its historical model; depending on it makes sure that
# copy runs first on a fresh database, and on one upgraded from before the series.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("newsletter", "0009_first_welcome_step"),
        ("publication", "0002_todays_settings"),
    ]

    operations = [
        migrations.RemoveField(model_name="publication", name="welcome_body"),
        migrations.RemoveField(model_name="publication", name="welcome_subject"),
    ]
