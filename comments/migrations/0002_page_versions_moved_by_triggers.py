from importlib import import_module

from django.db import migrations

# Comments and likes move the version of their post's page on, in the same transaction as the
# change, whoever writes (posts/pagecache/__init__.py): moderation's update(), a cascade, the
# admin, raw SQL. A like names its comment, the comment its post.
pages = import_module("posts.migrations.0005_page_versions_moved_by_triggers")

POST_OF_COMMENTS = "SELECT 'post:' || post_id FROM {rows}"
POST_VIA_COMMENT = (
    "SELECT 'post:' || c.post_id FROM {rows} r JOIN comments_comment c ON c.id = r.comment_id"
)


def both(query: str) -> str:
    return query.format(rows="new_rows") + " UNION " + query.format(rows="old_rows")


TRIGGERS = [
    pages.page_triggers(
        "comments_comment",
        inserted=POST_OF_COMMENTS.format(rows="new_rows"),
        updated=both(POST_OF_COMMENTS),
        deleted=POST_OF_COMMENTS.format(rows="old_rows"),
    ),
    pages.page_triggers(
        "comments_commentlike",
        inserted=POST_VIA_COMMENT.format(rows="new_rows"),
        updated=both(POST_VIA_COMMENT),
        deleted=POST_VIA_COMMENT.format(rows="old_rows"),
    ),
]

# What a reader's post page needs from the discussion, for its one query
# (posts/pagecache/slots.py, comments/pageslots.py).
READER_STATE = """
CREATE FUNCTION comments_reader_state(p_post bigint, p_reader bigint)
RETURNS TABLE (
    is_banned boolean, wants_reply_emails boolean, has_waiting_comment boolean,
    liked_comments bigint[]
)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY SELECT
        coalesce((SELECT c.is_banned FROM comments_commenter c WHERE c.user_id = p_reader), false),
        coalesce(
            (SELECT c.notify_replies FROM comments_commenter c WHERE c.user_id = p_reader), false
        ),
        EXISTS(SELECT 1 FROM comments_comment x
               WHERE x.post_id = p_post AND x.author_id = p_reader
               AND x.status IN ('held', 'hidden') AND x.deleted_at IS NULL),
        ARRAY(SELECT l.comment_id FROM comments_commentlike l
              JOIN comments_comment x ON x.id = l.comment_id
              WHERE x.post_id = p_post AND l.user_id = p_reader);
END
$$;
"""
READER_STATE_BACKWARD = "DROP FUNCTION comments_reader_state(bigint, bigint);"


class Migration(migrations.Migration):
    dependencies = [
        ("comments", "0001_create_comments"),
        ("posts", "0005_page_versions_moved_by_triggers"),
    ]

    operations = [
        *(migrations.RunSQL(forward, backward) for forward, backward in TRIGGERS),
        migrations.RunSQL(READER_STATE, READER_STATE_BACKWARD),
    ]
