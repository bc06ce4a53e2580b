"""What editors wrote, kept: a revision per save, an autosaved working copy per editor, and the
readable comparison of two revisions."""
