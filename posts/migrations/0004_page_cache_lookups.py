from django.db import migrations

# The two lookups every cached post page makes (posts/pagecache.py, posts/readerpages.py), as
# PL/pgSQL functions: PostgreSQL keeps their plans for the session, where the same query sent
# as text is planned again on every request (1 ms of the database's time, 5x the run itself).
# PL/pgSQL looks the tables up when the function runs, so the order of apps does not matter;
# the dependencies below only say whose tables these read.
FORWARD = """
CREATE FUNCTION posts_page_versions(p_slug text)
RETURNS TABLE (site_number bigint, post_number bigint, newest_live timestamptz)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY SELECT
        (SELECT v.number FROM posts_pageversion v WHERE v.key = 'site'),
        (SELECT v.number FROM posts_post p JOIN posts_pageversion v ON v.key = 'post:' || p.id
         WHERE p.slug = p_slug),
        (SELECT max(p.published_at) FROM posts_post p
         WHERE p.status IN ('published', 'scheduled') AND p.published_at <= statement_timestamp());
END
$$;

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
BACKWARD = """
DROP FUNCTION posts_reader_state(text, bigint);
DROP FUNCTION posts_page_versions(text);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("posts", "0003_page_versions"),
        ("accounts", "0001_initial"),
        ("account", "0009_emailaddress_unique_primary_email"),
        ("comments", "0001_create_comments"),
        ("polls", "0003_choice_tally_kept_by_triggers"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
