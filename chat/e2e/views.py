"""Views of the room: whom each sender sends to, signed in its frames, checked by every receiver.

Our side (:class:`OurView`): the entries our messages are for, an epoch counting its changes, and
the changes since our previous message, kept per member as :mod:`chat.e2e.sealed` says (its last
removal, then where it stands), so that at most two changes per member ever travel; when more
members than a room holds changed between two of our messages, the oldest are dropped (a receiver
then reports our view as unknown rather than guess).

Their side: a receiver rebuilds each sender's view from its last full view (bundle, direct
manifest) and the changes of each message, and accepts the result only if its digest is the one
the sender signed (:func:`rebuild`); then :func:`compare` names each member about whom the sender
and we disagree. A disagreement that may be a frame still in flight (we learned of the member's
change after the sender's previous frame, so the sender may not know yet) is *pending*: it is not
reported until the sender's next frame still shows it. What the sender knows and we do not cannot
be in flight, since the relay tells us of a change before it relays what follows it, so ghosts
and departures are reported at once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from chat.e2e.results import Difference, DifferenceKind
from chat.e2e.sealed import JOINED, Change, Entry, view_digest

View = dict[str, Entry]
"""A view by folded alias."""


@dataclass(frozen=True)
class Evidence:
    """What one accepted frame shows of its sender's view: the whole of it (a bundle's members, a
    direct message's recipients) or the signed digest, and the changes since its previous message."""

    epoch: int
    changes: tuple[Change, ...]
    digest: bytes | None = None
    full: Mapping[str, Entry] | None = None


@dataclass
class OurView:
    """The entries our messages are for, their epoch, and the changes since our previous message."""

    limit: int
    entries: View = field(default_factory=dict)
    epoch: int = 0
    _log: OrderedDict[str, tuple[Change | None, Change | None]] = field(default_factory=OrderedDict)

    def set(self, entries: Iterable[Entry]) -> None:
        """The view when we join: everyone it holds learns it whole, from our first bundle."""
        self.entries = {e.alias: e for e in entries}

    def add(self, entry: Entry) -> None:
        """``entry`` enters the view (it joined, or became eligible)."""
        self.entries[entry.alias] = entry
        removal, _ = self._log.pop(entry.alias, (None, None))
        self._record(entry.alias, (removal, Change(JOINED, *entry)))

    def remove(self, alias: str, op: str) -> bool:
        """``alias`` leaves the view (``op``: ``-`` it left, ``~`` withheld); False if it was not in it."""
        entry = self.entries.pop(alias, None)
        if entry is None:
            return False
        self._log.pop(alias, None)
        self._record(alias, (Change(op, *entry), None))
        return True

    def _record(self, alias: str, changes: tuple[Change | None, Change | None]) -> None:
        self.epoch += 1
        self._log[alias] = changes
        while len(self._log) > self.limit:
            self._log.popitem(last=False)

    def __contains__(self, alias: object) -> bool:
        return alias in self.entries

    @property
    def digest(self) -> bytes:
        """The view digest our frames sign."""
        return view_digest(self.entries.values())

    def changes(self) -> tuple[Change, ...]:
        """The changes since our previous message, in the order :mod:`chat.e2e.sealed` signs them
        (sorted by alias, a removal before the ``+`` of the same alias), which is how bodies list them."""
        found = (c for pair in self._log.values() for c in pair if c is not None)
        return tuple(sorted(found, key=lambda c: (c.alias, c.op == JOINED)))

    def sent(self) -> None:
        """A message went out with :meth:`changes`: the next one starts from here."""
        self._log.clear()


def apply(view: Mapping[str, Entry], changes: Iterable[Change]) -> View:
    """``view`` after ``changes``: each alias ends where its last change puts it."""
    result = dict(view)
    for change in changes:
        if change.op == JOINED:
            result[change.alias] = change.entry
        else:
            result.pop(change.alias, None)
    return result


def rebuild(
    held: Mapping[str, Entry] | None, changes: Iterable[Change], digest: bytes, ours: Mapping[str, Entry]
) -> View | None:
    """The sender's view whose digest it signed: ``held`` after ``changes``, or else our own view
    when that is what the sender signed; None when neither is (we lost a frame of it)."""
    if held is not None:
        candidate = apply(held, changes)
        if view_digest(candidate.values()) == digest:
            return candidate
    if view_digest(ours.values()) == digest:
        return dict(ours)
    return None


@dataclass(frozen=True)
class Facts:
    """What a receiver knows besides its view: who left (and when), whose identity it cannot use,
    and which members changed too recently for the sender to know."""

    left: Mapping[str, Entry]
    unusable: frozenset[str]
    pending: Callable[[str], bool]  # folded alias -> whether its change may still be in flight
    alias_of: Callable[[str], str]  # folded alias -> the alias to name it by


def compare(theirs: Mapping[str, Entry] | None, ours: Mapping[str, Entry], facts: Facts) -> set[Difference]:
    """The members about whom the sender's view ``theirs`` and ``ours`` differ, pending ones left out."""
    name = facts.alias_of
    if theirs is None:
        return set()
    found: set[Difference] = set()
    for alias, entry in theirs.items():
        mine = ours.get(alias)
        if mine is None:
            if alias in facts.unusable:
                kind = DifferenceKind.OTHER_IDENTITY
            elif facts.left.get(alias) == entry:
                kind = DifferenceKind.STILL_SENDING_TO_LEAVER
            else:
                kind = DifferenceKind.GHOST
            if not facts.pending(alias):
                found.add(Difference(name(alias), kind))
        elif mine != entry and not facts.pending(alias):
            found.add(Difference(name(alias), DifferenceKind.OTHER_IDENTITY))
    for alias in ours.keys() - theirs.keys():
        if not facts.pending(alias):
            found.add(Difference(name(alias), DifferenceKind.HIDDEN_MEMBER))
    return found
