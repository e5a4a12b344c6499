"""The commands of both clients: the input line parsed into a command, pure and tested without a UI.

A line that does not start with ``/`` is a message; ``//text`` sends ``/text`` as a message.
Arguments are split as a shell would (:func:`shlex.split`), so a path with spaces is quoted:
``/send "my notes.txt"``. Every mistake is a :class:`CommandError` whose message is one line
ending with the command's usage. :mod:`chat.ui.runner` performs the commands on the session;
what only the view can do (:data:`ViewCommand`: help, panels, quitting) is the view's.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from chat.e2e.suites import KEX_NAMES, SUITE_NAMES
from chat.protocol.names import name_problem


class CommandError(ValueError):
    """An unknown command or bad arguments, in one line; ``code``: ``unknown_command`` or ``usage``."""

    def __init__(self, message: str, code: str = "usage") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Say:
    """Send ``text`` to the room."""

    text: str


@dataclass(frozen=True)
class Help:
    """Show the commands and key bindings."""


@dataclass(frozen=True)
class JoinRoom:
    """Leave the current room if any, then join ``room`` (asking for a suite and kex if it is new)."""

    room: str
    cipher: str | None = None
    kex: str | None = None


@dataclass(frozen=True)
class Leave:
    """Leave the room; the connection stays open."""


@dataclass(frozen=True)
class Who:
    """List the members with fingerprints, trust and certificates."""


@dataclass(frozen=True)
class Verify:
    """Show the safety number to compare with ``alias`` out of band."""

    alias: str


@dataclass(frozen=True)
class Trust:
    """Accept ``alias``'s current identity key as verified."""

    alias: str


@dataclass(frozen=True)
class Cert:
    """Show ``alias``'s certificate and its state (ours when ``alias`` is None)."""

    alias: str | None = None


@dataclass(frozen=True)
class SendFile:
    """Send the file at ``path`` to the room, encrypted in chunks."""

    path: str


@dataclass(frozen=True)
class AnswerOffer:
    """Accept (``/accept``) or refuse (``/refuse``) the file offer ``which`` (its number or its
    ``sender/id``; the only one waiting when None)."""

    accept: bool
    which: str | None = None


@dataclass(frozen=True)
class CancelTransfers:
    """Cancel every file transfer in progress (ours and the ones we receive)."""


@dataclass(frozen=True)
class ShowTrace:
    """Toggle the trace panel; with ``rounds``, show the DES rounds of record ``record`` (default: last)."""

    rounds: bool = False
    record: int | None = None


@dataclass(frozen=True)
class ShowWire:
    """Toggle the wire panel."""


@dataclass(frozen=True)
class ShowChat:
    """Back to the chat from a panel."""


@dataclass(frozen=True)
class Quit:
    """Leave, disconnect and exit."""


Command = (
    Say
    | Help
    | JoinRoom
    | Leave
    | Who
    | Verify
    | Trust
    | Cert
    | SendFile
    | AnswerOffer
    | CancelTransfers
    | ShowTrace
    | ShowWire
    | ShowChat
    | Quit
)


#: Commands that go out over the network, performed one after another in the order typed
#: (``/trust`` too: a member whose key CHANGED gets our chain once trusted).
Action = Say | JoinRoom | Leave | SendFile | Trust
#: Commands the session answers at once.
Question = Who | Verify | Cert | AnswerOffer | CancelTransfers
#: Commands that change only what the view shows (or end it).
ViewCommand = Help | ShowTrace | ShowWire | ShowChat | Quit


@dataclass(frozen=True)
class CommandHelp:
    """One line of the help: usage, what it does, its key if it has one, and whether only the
    Textual client has it (its panels)."""

    usage: str
    summary: str
    key: str = ""
    panel: bool = False


COMMANDS: tuple[CommandHelp, ...] = (
    CommandHelp("/help", "this list", "F1"),
    CommandHelp("/join ROOM [--cipher S] [--kex K]", f"join ROOM (S: {', '.join(SUITE_NAMES)}, if new)"),
    CommandHelp("/leave", "leave the room, stay connected"),
    CommandHelp("/who", "members, fingerprints, trust, certificates"),
    CommandHelp("/verify ALIAS", "the safety number to compare out of band"),
    CommandHelp("/trust ALIAS", "accept ALIAS's key once the numbers match; it gets yours"),
    CommandHelp("/cert [ALIAS]", "a member's certificate (yours without ALIAS)"),
    CommandHelp("/send PATH", 'send a file, encrypted (/send "a b.txt")'),
    CommandHelp("/accept [ID]", "accept the file offer ID (the only one, without ID)"),
    CommandHelp("/refuse [ID]", "refuse the file offer ID (the only one, without ID)"),
    CommandHelp("/cancel", "cancel the file transfers in progress and refuse the offers"),
    CommandHelp("/trace", "how each message was sealed and checked", "F2", panel=True),
    CommandHelp("/trace rounds [N]", "16 DES rounds of record N's first block", panel=True),
    CommandHelp("/wire", "the frames as the relay sees them", "F3", panel=True),
    CommandHelp("/chat", "back to the chat from a panel", "Esc", panel=True),
    CommandHelp("/quit", "leave and exit", "Ctrl+Q"),
)

USAGE = {item.usage.split()[0]: item.usage for item in COMMANDS}


def _usage(name: str) -> str:
    return f"usage: {USAGE[name]}"


def _one_alias(name: str, args: list[str]) -> str:
    if len(args) != 1:
        raise CommandError(f"{name} needs one alias; {_usage(name)}")
    problem = name_problem(args[0], "alias")
    if problem is not None:
        raise CommandError(f"{problem}; {_usage(name)}")
    return args[0]


def _no_arguments(name: str, args: list[str]) -> None:
    if args:
        raise CommandError(f"{name} takes no arguments; {_usage(name)}")


def _parse_join(args: list[str]) -> JoinRoom:
    room: str | None = None
    options: dict[str, str] = {}
    rest = list(args)
    while rest:
        item = rest.pop(0)
        if item.startswith("--"):
            option, equals, value = item.partition("=")
            if option not in ("--cipher", "--kex"):
                raise CommandError(f"/join: unknown option {option}; {_usage('/join')}")
            if not equals:
                if not rest:
                    raise CommandError(f"/join: {option} needs a value; {_usage('/join')}")
                value = rest.pop(0)
            options[option] = value
        elif room is None:
            room = item
        else:
            raise CommandError(f"/join takes one room; {_usage('/join')}")
    if room is None:
        raise CommandError(f"/join needs a room; {_usage('/join')}")
    problem = name_problem(room, "room name")
    if problem is not None:
        raise CommandError(f"{problem}; {_usage('/join')}")
    cipher, kex = options.get("--cipher"), options.get("--kex")
    if cipher is not None and cipher not in SUITE_NAMES:
        raise CommandError(f"unknown cipher suite {cipher!r}; choose from {', '.join(SUITE_NAMES)}")
    if kex is not None and kex not in KEX_NAMES:
        raise CommandError(f"unknown key exchange {kex!r}; choose from {', '.join(KEX_NAMES)}")
    return JoinRoom(room, cipher, kex)


def _parse_trace(args: list[str]) -> ShowTrace:
    if not args:
        return ShowTrace()
    if args[0] != "rounds" or len(args) > 2:
        raise CommandError(f"/trace takes nothing, or rounds [N]; {_usage('/trace')}, or /trace rounds [N]")
    if len(args) == 1:
        return ShowTrace(rounds=True)
    if not args[1].isdigit() or int(args[1]) < 1:
        raise CommandError(f"/trace rounds: N is a record number (1, 2, ...), not {args[1]!r}")
    return ShowTrace(rounds=True, record=int(args[1]))


def parse(line: str) -> Command | None:
    """The command ``line`` stands for; None for a blank line; :class:`CommandError` if it is wrong."""
    if not line.strip():
        return None
    if not line.startswith("/"):
        return Say(line)
    if line.startswith("//"):
        return Say(line[1:])
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise CommandError(f"cannot read the arguments: {exc}") from None
    name, args = words[0].lower(), words[1:]
    if name == "/join":
        return _parse_join(args)
    if name == "/verify":
        return Verify(_one_alias(name, args))
    if name == "/trust":
        return Trust(_one_alias(name, args))
    if name == "/cert":
        return Cert(_one_alias(name, args) if args else None)
    if name == "/send":
        if len(args) != 1 or not args[0]:
            raise CommandError(f"/send needs one path; {_usage('/send')}")
        return SendFile(args[0])
    if name in ("/accept", "/refuse"):
        if len(args) > 1:
            raise CommandError(f"{name} takes at most one offer; {_usage(name)}")
        return AnswerOffer(name == "/accept", args[0] if args else None)
    if name == "/trace":
        return _parse_trace(args)
    simple: dict[str, Command] = {
        "/help": Help(),
        "/leave": Leave(),
        "/who": Who(),
        "/wire": ShowWire(),
        "/chat": ShowChat(),
        "/cancel": CancelTransfers(),
        "/quit": Quit(),
    }
    if name in simple:
        _no_arguments(name, args)
        return simple[name]
    raise CommandError(
        f"unknown command {words[0]}; /help lists them (// sends a line starting with /)", "unknown_command"
    )
