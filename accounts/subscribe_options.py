"""Lists a reader may choose when subscribing, offered by an app above accounts.

accounts imports no other app, yet its subscribe form offers the newsletter's lists. The app
that owns them registers two functions from its AppConfig.ready():

    from accounts import subscribe_options
    subscribe_options.register(offer=audience.subscribe_offer, apply=audience.apply_choice)

`offer()` returns the options to show (value, label, help text, ticked in advance);
`apply(user=..., chosen=..., source=..., new=..., proven=...)` records the reader's choice in the
transaction that subscribes them. `chosen` is None when the form showed no choice (the small
box in the footer): the owner then applies its defaults. `new` says the subscription was made
just now; `proven` that the reader is logged in (so they may undo an earlier "leave").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from accounts.models import User


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    help_text: str = ""
    initial: bool = False


_offer: Callable[[], list[Option]] | None = None
_apply: Callable[..., None] | None = None


def register(*, offer: Callable[[], list[Option]], apply: Callable[..., None]) -> None:
    """Make the subscribe form offer offer()'s options and record the choice with apply()."""
    global _offer, _apply
    _offer, _apply = offer, apply


def offer() -> list[Option]:
    """Return the options to show on the subscribe form (none when nobody registered)."""
    return _offer() if _offer else []


def apply(*, user: User, chosen: list[str] | None, source: str, new: bool, proven: bool) -> None:
    """Record a subscribing reader's choice (None: the defaults)."""
    if _apply:
        _apply(user=user, chosen=chosen, source=source, new=new, proven=proven)
