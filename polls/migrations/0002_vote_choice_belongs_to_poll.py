from django.db import migrations

# Django has no composite foreign keys, so the rule "a vote's choice belongs to the vote's poll"
# is a plain PostgreSQL constraint: a vote for another poll's choice can never be stored, whatever
# code path writes it. Checked at once (not deferred) so a bad insert fails where it happens;
# Django's cascades delete votes before choices, so deletes never trip it.
FORWARD = """
ALTER TABLE polls_choice ADD CONSTRAINT polls_choice_id_poll_unique UNIQUE (id, poll_id);
ALTER TABLE polls_vote ADD CONSTRAINT polls_vote_choice_in_poll
    FOREIGN KEY (choice_id, poll_id) REFERENCES polls_choice (id, poll_id);
"""
BACKWARD = """
ALTER TABLE polls_vote DROP CONSTRAINT polls_vote_choice_in_poll;
ALTER TABLE polls_choice DROP CONSTRAINT polls_choice_id_poll_unique;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("polls", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
