# Every send belongs to a newsletter (0005 gave the earlier ones the default newsletter).

import django.db.models.deletion
from django.db import migrations, models

import newsletter.models


class Migration(migrations.Migration):
    dependencies = [
        ("newsletter", "0005_default_newsletter"),
    ]

    operations = [
        migrations.AlterField(
            model_name="newslettersend",
            name="newsletter",
            field=models.ForeignKey(
                default=newsletter.models.default_newsletter_id,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="sends",
                to="newsletter.newsletter",
                verbose_name="newsletter",
            ),
        ),
    ]
