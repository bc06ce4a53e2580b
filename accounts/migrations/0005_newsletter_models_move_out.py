# NewsletterSend and Delivery now belong to the newsletter app (newsletter/0001_initial.py).
# Only Django's picture of the models changes here: the tables, and their rows, stay where
# they are, and the newsletter app's models name them with db_table.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_rate_limit_counts"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="Delivery"),
                migrations.DeleteModel(name="NewsletterSend"),
            ],
            database_operations=[],
        ),
    ]
