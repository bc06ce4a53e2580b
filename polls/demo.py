"""Demo content for `manage.py seed_demo` (filled in by the polls issue)."""


def seed(**kwargs) -> None:
    return None
