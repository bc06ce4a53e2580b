from importlib import import_module

from django.db import migrations

# Polls' tables move the version of their post's page on, in the same transaction as the
# change, whoever writes (posts/pagecache/__init__.py). A vote names its poll, the poll its
# post; a statement deleting 20,000 votes moves each post on once.
pages = import_module("posts.migrations.0005_page_versions_moved_by_triggers")

POST_OF_POLLS = "SELECT 'post:' || post_id FROM {rows}"
POST_VIA_POLL = "SELECT 'post:' || p.post_id FROM {rows} r JOIN polls_poll p ON p.id = r.poll_id"
# A choice's tally is kept by polls_vote's trigger; the vote moved the version on already.
CHOICE_UPDATED = (
    "SELECT 'post:' || p.post_id FROM new_rows n JOIN old_rows o ON o.id = n.id"
    " JOIN polls_poll p ON p.id IN (n.poll_id, o.poll_id)"
    " WHERE (to_jsonb(n) - 'tally') IS DISTINCT FROM (to_jsonb(o) - 'tally')"
)


def both(query: str) -> str:
    return query.format(rows="new_rows") + " UNION " + query.format(rows="old_rows")


TRIGGERS = [
    pages.page_triggers(
        "polls_poll",
        inserted=POST_OF_POLLS.format(rows="new_rows"),
        updated=both(POST_OF_POLLS),
        deleted=POST_OF_POLLS.format(rows="old_rows"),
    ),
    pages.page_triggers(
        "polls_choice",
        inserted=POST_VIA_POLL.format(rows="new_rows"),
        updated=CHOICE_UPDATED,
        deleted=POST_VIA_POLL.format(rows="old_rows"),
    ),
    pages.page_triggers(
        "polls_vote",
        inserted=POST_VIA_POLL.format(rows="new_rows"),
        updated=both(POST_VIA_POLL),
        deleted=POST_VIA_POLL.format(rows="old_rows"),
    ),
]

# The reader's votes on a post, for their post page's one query (posts/pagecache/slots.py).
READER_STATE = """
CREATE FUNCTION polls_reader_state(p_post bigint, p_reader bigint)
RETURNS TABLE (votes text[])
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY SELECT ARRAY(
        SELECT v.poll_id::text || ':' || v.choice_id::text
        FROM polls_vote v JOIN polls_poll q ON q.id = v.poll_id
        WHERE q.post_id = p_post AND v.user_id = p_reader
    );
END
$$;
"""
READER_STATE_BACKWARD = "DROP FUNCTION polls_reader_state(bigint, bigint);"


class Migration(migrations.Migration):
    dependencies = [
        ("polls", "0003_choice_tally_kept_by_triggers"),
        ("posts", "0005_page_versions_moved_by_triggers"),
    ]

    operations = [
        *(migrations.RunSQL(forward, backward) for forward, backward in TRIGGERS),
        migrations.RunSQL(READER_STATE, READER_STATE_BACKWARD),
    ]
