from django.db import migrations

# The page cache's one invalidation rule (posts/pagecache/__init__.py): PostgreSQL moves the
# version numbers on, in the same transaction as the change, whoever writes. This migration
# owns the functions, and the triggers of the tables posts' pages show; polls and comments
# declare their own tables' triggers in their migrations.

# Columns of posts_post that only the post's own page shows (its body, its byline, its
# comments setting; counters belong here too): a change to these moves that post's version
# only. A change to any other column moves "site", the version every page is stored under.
POST_PAGE_ONLY_COLUMNS = [
    "updated_at",
    "body",
    "body_text",
    "body_opening",
    "reading_minutes",
    "daily_takeaway",
    "comments_mode",
    "search_vector",
]
ONLY_POST = "ARRAY[" + ", ".join(f"'{name}'" for name in POST_PAGE_ONLY_COLUMNS) + "]::text[]"

FUNCTIONS = """
CREATE FUNCTION posts_bump_page_versions(p_keys text[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- Sorted: every writer locks version rows in the same order.
    INSERT INTO posts_pageversion AS v (key, number)
    SELECT k, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint
    FROM (SELECT DISTINCT unnest(p_keys) AS k) AS keys
    WHERE k IS NOT NULL
    ORDER BY k
    ON CONFLICT (key) DO UPDATE SET number = GREATEST(v.number + 1, EXCLUDED.number);
END
$$;

-- TG_ARGV[0]: a query giving the version keys a statement changed, reading the statement's
-- transition tables new_rows and old_rows (EXECUTE sees them).
CREATE FUNCTION posts_page_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed text[];
BEGIN
    EXECUTE 'SELECT array_agg(k) FROM (' || TG_ARGV[0] || ') AS changed(k)' INTO changed;
    IF changed IS NOT NULL THEN
        PERFORM posts_bump_page_versions(changed);
    END IF;
    RETURN NULL;
END
$$;
"""
FUNCTIONS_BACKWARD = """
DROP FUNCTION posts_page_changed();
DROP FUNCTION posts_bump_page_versions(text[]);
"""


def quoted(sql: str) -> str:
    return "'" + sql.replace("'", "''") + "'"


def page_triggers(table: str, *, inserted: str, updated: str, deleted: str) -> tuple[str, str]:
    """Statement-level triggers (one per event) moving on the keys each query gives, and
    TRUNCATE moving "site"; with the SQL that drops them. PostgreSQL fires a table's triggers
    in name order: "<table>_versions_..." come after "<table>_tally_...", so rows are locked
    in the order the post_save receivers used to lock them (the counted rows, then versions)."""
    name = f"{table}_versions"
    forward = f"""
CREATE TRIGGER {name}_insert AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION posts_page_changed({quoted(inserted)});
CREATE TRIGGER {name}_update AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION posts_page_changed({quoted(updated)});
CREATE TRIGGER {name}_delete AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION posts_page_changed({quoted(deleted)});
CREATE TRIGGER {name}_truncate AFTER TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION posts_page_changed({quoted("SELECT 'site'")});
"""
    backward = "".join(
        f"DROP TRIGGER {name}_{event} ON {table};\n"
        for event in ("truncate", "delete", "update", "insert")
    )
    return forward, backward


SITE = "SELECT 'site'"
TRIGGERS = [
    page_triggers(
        "posts_post",
        inserted=SITE,
        updated=(
            "SELECT CASE WHEN n.id IS NULL OR o.id IS NULL"  # nosec B608 (constant names)
            f" OR (to_jsonb(n) - {ONLY_POST}) IS DISTINCT FROM (to_jsonb(o) - {ONLY_POST})"
            " THEN 'site' ELSE 'post:' || n.id END"
            " FROM new_rows n FULL JOIN old_rows o ON o.id = n.id"
        ),
        deleted=SITE,
    ),
    page_triggers("posts_tag", inserted=SITE, updated=SITE, deleted=SITE),
    page_triggers("posts_post_tags", inserted=SITE, updated=SITE, deleted=SITE),
    page_triggers("posts_post_authors", inserted=SITE, updated=SITE, deleted=SITE),
    page_triggers(
        "posts_thumbsup",
        inserted="SELECT 'post:' || post_id FROM new_rows",
        updated=(
            "SELECT 'post:' || post_id FROM new_rows UNION SELECT 'post:' || post_id FROM old_rows"
        ),
        deleted="SELECT 'post:' || post_id FROM old_rows",
    ),
]

# Readers: pages show their name, email (its local part stands for a missing name), avatar and
# badges. A row-level trigger whose WHEN clause compares only those, so a login (last_login)
# or anything else about a reader moves nothing; a new reader is on no page yet.
USER_FIELDS = ["display_name", "email", "avatar", "is_staff", "is_active"]
USER_TRIGGERS = f"""
CREATE TRIGGER accounts_user_versions_update AFTER UPDATE ON accounts_user FOR EACH ROW
    WHEN ({" OR ".join(f"OLD.{f} IS DISTINCT FROM NEW.{f}" for f in USER_FIELDS)})
    EXECUTE FUNCTION posts_page_changed({quoted(SITE)});
CREATE TRIGGER accounts_user_versions_delete AFTER DELETE ON accounts_user
    FOR EACH STATEMENT EXECUTE FUNCTION posts_page_changed({quoted(SITE)});
"""
USER_TRIGGERS_BACKWARD = """
DROP TRIGGER accounts_user_versions_delete ON accounts_user;
DROP TRIGGER accounts_user_versions_update ON accounts_user;
"""

# The reader-state lookup of posts' own part; polls and comments join theirs to it
# (posts/pagecache/readerpages.py, slots.py).
READER_STATE = """
DROP FUNCTION posts_reader_state(text, bigint);
CREATE FUNCTION posts_reader_state(p_slug text, p_reader bigint)
RETURNS TABLE (
    page_post_id bigint, is_verified boolean, is_subscriber boolean, site_number bigint,
    post_number bigint, newest_live timestamptz, gave_thumbs_up boolean
)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    the_post bigint := (SELECT p.id FROM posts_post p WHERE p.slug = p_slug);
BEGIN
    RETURN QUERY SELECT
        the_post,
        EXISTS(SELECT 1 FROM account_emailaddress e WHERE e.user_id = p_reader AND e.verified),
        EXISTS(SELECT 1 FROM accounts_subscription s
               WHERE s.user_id = p_reader AND s.status = 'active'),
        (SELECT v.number FROM posts_pageversion v WHERE v.key = 'site'),
        (SELECT v.number FROM posts_pageversion v WHERE v.key = 'post:' || the_post),
        (SELECT max(p.published_at) FROM posts_post p
         WHERE p.status IN ('published', 'scheduled') AND p.published_at <= statement_timestamp()),
        EXISTS(SELECT 1 FROM posts_thumbsup t WHERE t.post_id = the_post AND t.user_id = p_reader);
END
$$;
"""
# The function as migration posts 0004 made it (it read polls' and comments' tables itself).
READER_STATE_BACKWARD = """
DROP FUNCTION posts_reader_state(text, bigint);
CREATE FUNCTION posts_reader_state(p_slug text, p_reader bigint)
RETURNS TABLE (
    is_verified boolean, is_subscriber boolean, is_banned boolean, wants_reply_emails boolean,
    has_waiting_comment boolean, site_number bigint, post_number bigint, newest_live timestamptz,
    gave_thumbs_up boolean, votes text[], liked_comments bigint[]
)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    the_post bigint := (SELECT p.id FROM posts_post p WHERE p.slug = p_slug);
BEGIN
    RETURN QUERY SELECT
        EXISTS(SELECT 1 FROM account_emailaddress e WHERE e.user_id = p_reader AND e.verified),
        EXISTS(SELECT 1 FROM accounts_subscription s
               WHERE s.user_id = p_reader AND s.status = 'active'),
        coalesce((SELECT c.is_banned FROM comments_commenter c WHERE c.user_id = p_reader), false),
        coalesce(
            (SELECT c.notify_replies FROM comments_commenter c WHERE c.user_id = p_reader), false
        ),
        EXISTS(SELECT 1 FROM comments_comment x
               WHERE x.post_id = the_post AND x.author_id = p_reader
               AND x.status IN ('held', 'hidden') AND x.deleted_at IS NULL),
        (SELECT v.number FROM posts_pageversion v WHERE v.key = 'site'),
        (SELECT v.number FROM posts_pageversion v WHERE v.key = 'post:' || the_post),
        (SELECT max(p.published_at) FROM posts_post p
         WHERE p.status IN ('published', 'scheduled') AND p.published_at <= statement_timestamp()),
        EXISTS(SELECT 1 FROM posts_thumbsup t WHERE t.post_id = the_post AND t.user_id = p_reader),
        ARRAY(SELECT v.poll_id::text || ':' || v.choice_id::text
              FROM polls_vote v JOIN polls_poll q ON q.id = v.poll_id
              WHERE q.post_id = the_post AND v.user_id = p_reader),
        ARRAY(SELECT l.comment_id FROM comments_commentlike l
              JOIN comments_comment x ON x.id = l.comment_id
              WHERE x.post_id = the_post AND l.user_id = p_reader);
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("posts", "0004_page_cache_lookups"),
        ("accounts", "0004_rate_limit_counts"),
    ]

    operations = [
        migrations.RunSQL(FUNCTIONS, FUNCTIONS_BACKWARD),
        *(migrations.RunSQL(forward, backward) for forward, backward in TRIGGERS),
        migrations.RunSQL(USER_TRIGGERS, USER_TRIGGERS_BACKWARD),
        migrations.RunSQL(READER_STATE, READER_STATE_BACKWARD),
    ]
