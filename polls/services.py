"""Poll workflows. The two functions below are the contract the newsletter uses to put a post's
poll in its email; the polls issue fills them in."""


def poll_for_email(*, post):
    """Return the poll to show in post's newsletter email, or None."""
    return None


def vote_url(*, poll_id: int, choice_id: int, user_id: int) -> str:
    """Return an absolute URL, signed for this reader, poll and choice, that opens the post at the
    poll with the choice selected (a GET records nothing; the page confirms by POST)."""
    raise NotImplementedError
