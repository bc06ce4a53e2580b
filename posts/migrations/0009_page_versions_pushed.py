from django.db import migrations

# Every process keeps the page version numbers in memory, pushed to it by PostgreSQL
# (posts/pagecache/listener.py): the function that moves numbers on also announces them with
# NOTIFY, in the same statement. PostgreSQL delivers a notification only when its transaction
# commits, and drops it with the transaction on a rollback, so a number is never announced
# before anyone can see what it stands for.
#
# One payload per call, that is one per statement (the triggers call this once per statement):
# "key=number" pairs separated by spaces. A payload must stay under 8,000 bytes; past
# 7,900 bytes the call announces "*" instead, and every listener reads all numbers again. The
# channel is posts_page_versions.

FORWARD = """
CREATE OR REPLACE FUNCTION posts_bump_page_versions(p_keys text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    payload text;
BEGIN
    -- Sorted: every writer locks version rows in the same order.
    WITH moved AS (
        INSERT INTO posts_pageversion AS v (key, number)
        SELECT k, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint
        FROM (SELECT DISTINCT unnest(p_keys) AS k) AS keys
        WHERE k IS NOT NULL
        ORDER BY k
        ON CONFLICT (key) DO UPDATE SET number = GREATEST(v.number + 1, EXCLUDED.number)
        RETURNING v.key, v.number
    )
    SELECT string_agg(moved.key || '=' || moved.number, ' ') INTO payload FROM moved;
    IF payload IS NOT NULL THEN
        IF octet_length(payload) > 7900 THEN
            payload := '*';
        END IF;
        PERFORM pg_notify('posts_page_versions', payload);
    END IF;
END
$$;
"""

# The function as migration posts 0005 made it.
BACKWARD = """
CREATE OR REPLACE FUNCTION posts_bump_page_versions(p_keys text[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO posts_pageversion AS v (key, number)
    SELECT k, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint
    FROM (SELECT DISTINCT unnest(p_keys) AS k) AS keys
    WHERE k IS NOT NULL
    ORDER BY k
    ON CONFLICT (key) DO UPDATE SET number = GREATEST(v.number + 1, EXCLUDED.number);
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("posts", "0008_post_revisions_drafts_version"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
