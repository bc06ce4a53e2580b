# Several newsletters: the one list there was becomes the default newsletter. Every reader with a
# subscription gets a membership of it with the subscription's dates and source; a reader who
# unsubscribed gets a membership that says so (with the date), so nobody who left comes back.
# Bounced and complained readers keep a plain membership: their subscription still stops all
# mail, and the membership only records the list they chose. Sends made so far belong to it.
#
# From here on, a trigger gives each new subscription (whoever inserts it: the subscribe task,
# the CSV import, bulk_create, raw SQL) a membership of every current default newsletter; the
# subscribe form's choice then trims that in the same transaction (newsletter.audience).

from django.conf import settings
from django.db import migrations

TRIGGER = """
CREATE OR REPLACE FUNCTION newsletter_default_memberships() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO newsletter_membership (user_id, newsletter_id, status, source, created_at)
    SELECT s.user_id, n.id, 'subscribed', s.source, s.created_at
    FROM new_subscriptions s CROSS JOIN newsletter_newsletter n
    WHERE n.is_default AND NOT n.is_archived
    ON CONFLICT (user_id, newsletter_id) DO NOTHING;
    RETURN NULL;
END;
$$;
CREATE TRIGGER newsletter_default_memberships
AFTER INSERT ON accounts_subscription
REFERENCING NEW TABLE AS new_subscriptions
FOR EACH STATEMENT EXECUTE FUNCTION newsletter_default_memberships();
"""

DROP_TRIGGER = """
DROP TRIGGER IF EXISTS newsletter_default_memberships ON accounts_subscription;
DROP FUNCTION IF EXISTS newsletter_default_memberships();
"""


def forwards(apps, schema_editor):
    Newsletter = apps.get_model("newsletter", "Newsletter")
    NewsletterSend = apps.get_model("newsletter", "NewsletterSend")
    default, _ = Newsletter.objects.get_or_create(
        slug="newsletter",
        defaults={
            "name": getattr(settings, "SITE_NAME", "Newsletter"),
            "description": "New posts, by email.",
            "is_default": True,
            "is_choosable": True,
        },
    )
    with schema_editor.connection.cursor() as cursor:
        # One statement, so a list of 100,000 readers moves without loading it into Python.
        cursor.execute(
            """
            INSERT INTO newsletter_membership
                (user_id, newsletter_id, status, source, created_at, unsubscribed_at)
            SELECT s.user_id, %s,
                   CASE WHEN s.status = 'unsubscribed' THEN 'unsubscribed' ELSE 'subscribed' END,
                   s.source, s.created_at,
                   CASE WHEN s.status = 'unsubscribed'
                        THEN COALESCE(s.unsubscribed_at, s.created_at) END
            FROM accounts_subscription s
            ON CONFLICT (user_id, newsletter_id) DO NOTHING
            """,
            [default.pk],
        )
    NewsletterSend.objects.filter(newsletter__isnull=True).update(newsletter=default)


def backwards(apps, schema_editor):
    apps.get_model("newsletter", "NewsletterSend").objects.update(newsletter=None)
    apps.get_model("newsletter", "Membership").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_address_and_name_rules"),
        ("newsletter", "0004_audience_models"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.RunSQL(TRIGGER, DROP_TRIGGER),
    ]
