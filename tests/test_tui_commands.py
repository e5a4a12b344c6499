"""The clients' pure parts, without a terminal: command parsing (both clients'), the join form, paths,
the Textual client's formatting."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.text import Text

from chat.client import events as ev
from chat.client.events import Members, MemberView
from chat.client.feed import WireFrame
from chat.client.store import known_peers_path
from chat.e2e.identity import Fingerprint
from chat.e2e.session import TraceRecord
from chat.e2e.trust import TrustState
from chat.protocol.framing import encode_frame
from chat.ui import commands as cmd
from chat.ui.text import describe, plain
from chat.ui.tui import format as fmt
from chat.ui.tui.settings import check_join_form

# --- commands -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("hello there", cmd.Say("hello there")),
        ("  indented", cmd.Say("  indented")),
        ("//not a command", cmd.Say("/not a command")),
        ("/help", cmd.Help()),
        ("/HELP", cmd.Help()),
        ("/join maths", cmd.JoinRoom("maths")),
        ("/join maths --cipher des", cmd.JoinRoom("maths", "des")),
        ("/join maths --cipher=elgamal --kex elgamal", cmd.JoinRoom("maths", "elgamal", "elgamal")),
        ("/join --kex rsa maths", cmd.JoinRoom("maths", None, "rsa")),
        ("/leave", cmd.Leave()),
        ("/who", cmd.Who()),
        ("/verify bob", cmd.Verify("bob")),
        ("/trust Bob.2", cmd.Trust("Bob.2")),
        ("/cert", cmd.Cert()),
        ("/cert carol", cmd.Cert("carol")),
        ("/send notes.txt", cmd.SendFile("notes.txt")),
        ('/send "my notes.txt"', cmd.SendFile("my notes.txt")),
        ("/trace", cmd.ShowTrace()),
        ("/trace rounds", cmd.ShowTrace(rounds=True)),
        ("/trace rounds 12", cmd.ShowTrace(rounds=True, record=12)),
        ("/wire", cmd.ShowWire()),
        ("/chat", cmd.ShowChat()),
        ("/cancel", cmd.CancelTransfers()),
        ("/quit", cmd.Quit()),
    ],
)
def test_parse(line: str, expected: cmd.Command) -> None:
    assert cmd.parse(line) == expected


@pytest.mark.parametrize("line", ["", "   ", "\t"])
def test_blank_lines_are_nothing(line: str) -> None:
    assert cmd.parse(line) is None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("/frobnicate", "unknown command /frobnicate"),
        ("/join", "/join needs a room"),
        ("/join a b", "/join takes one room"),
        ("/join -bad", "room name must start with a letter or a digit: '-bad'"),
        ("/join .hidden", "room name must start with a letter or a digit"),
        ("/join maths --cipher aes", "unknown cipher suite 'aes'"),
        ("/join maths --kex dh", "unknown key exchange 'dh'"),
        ("/join maths --cipher", "--cipher needs a value"),
        ("/join maths --colour red", "unknown option --colour"),
        ("/verify", "/verify needs one alias"),
        ("/verify bob carol", "/verify needs one alias"),
        ("/trust bad/alias", "alias may hold only letters"),
        ("/send", "/send needs one path"),
        ("/send a b", "/send needs one path"),
        ('/send "unbalanced', "cannot read the arguments"),
        ("/trace everything", "/trace takes nothing, or rounds [N]"),
        ("/trace rounds 0", "N is a record number"),
        ("/trace rounds x", "N is a record number"),
        ("/who now", "/who takes no arguments"),
        ("/accept 1 2", "/accept takes at most one offer; usage: /accept [ID]"),
        ("/quit please", "/quit takes no arguments"),
    ],
)
def test_mistakes_are_one_line_errors(line: str, message: str) -> None:
    with pytest.raises(cmd.CommandError) as caught:
        cmd.parse(line)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_every_command_has_help_and_its_usage_in_errors() -> None:
    names = {item.usage.split()[0] for item in cmd.COMMANDS}
    expected = {"/help", "/join", "/leave", "/who", "/verify", "/trust", "/cert", "/send", "/trace", "/wire"}
    assert names == expected | {"/accept", "/refuse", "/cancel", "/chat", "/quit"}
    for line, usage in [
        ("/verify", "usage: /verify ALIAS"),
        ("/trust", "usage: /trust ALIAS"),
        ("/join", "usage: /join ROOM [--cipher S] [--kex K]"),
        ("/send", "usage: /send PATH"),
    ]:
        with pytest.raises(cmd.CommandError, match=usage.replace("[", r"\[").replace("]", r"\]")):
            cmd.parse(line)
    keys = {item.usage: item.key for item in cmd.COMMANDS}
    assert (keys["/help"], keys["/trace"], keys["/wire"], keys["/quit"]) == ("F1", "F2", "F3", "Ctrl+Q")


# --- the join form and where things are kept ----------------------------------------------------


def test_join_form_accepts_good_fields() -> None:
    request, problems = check_join_form(" 127.0.0.1 ", "5050", "alice", "lobby", "des", "elgamal")
    assert problems == {}
    assert request is not None
    assert (request.host, request.port, request.alias, request.room) == ("127.0.0.1", 5050, "alice", "lobby")
    assert (request.cipher, request.kex, request.server) == ("des", "elgamal", "127.0.0.1:5050")


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (("", "5050", "alice", "lobby"), "host", "server address must not be empty"),
        (("h", "0", "alice", "lobby"), "port", "port must be a number from 1 to 65535"),
        (("h", "65536", "alice", "lobby"), "port", "port must be a number from 1 to 65535"),
        (("h", "50x", "alice", "lobby"), "port", "port must be a number"),
        (("h", "5050", "", "lobby"), "alias", "alias must not be empty"),
        (("h", "5050", "no spaces", "lobby"), "alias", "alias may hold only letters"),
        (("h", "5050", "a" * 33, "lobby"), "alias", "alias must be at most 32 characters"),
        (("h", "5050", "alice", "_x"), "room", "room name must start with a letter or a digit"),
    ],
)
def test_join_form_names_the_field_at_fault(
    fields: tuple[str, str, str, str], field: str, message: str
) -> None:
    request, problems = check_join_form(*fields)
    assert request is None
    assert list(problems) == [field]
    assert message in problems[field]


def test_known_peers_are_kept_per_alias_and_server(tmp_path: Path) -> None:
    path = known_peers_path("Alice", "127.0.0.1", 5050, tmp_path)
    assert path == tmp_path / "cipherchat" / "known_peers" / "alice" / "127.0.0.1_5050.json"
    assert known_peers_path("alice", "127.0.0.1", 5051, tmp_path) != path
    odd = known_peers_path("alice", "::1/../x", 1, tmp_path)
    assert odd.parent == path.parent and "/" not in odd.name


# --- formatting ---------------------------------------------------------------------------------


def test_message_lines_escape_control_characters_and_ignore_markup() -> None:
    line = fmt.message_line(0.0, "bob", "[bold red]fake[/] \x1b[2J\x07")
    assert isinstance(line, Text)
    assert line.plain.endswith("bob: [bold red]fake[/] \\x1b[2J\\x07")
    assert "\x1b" not in line.plain
    assert not any("bold red" in str(span.style) for span in line.spans)


def test_alias_colours_are_stable_and_ignore_case() -> None:
    assert fmt.alias_colour("Alice") == fmt.alias_colour("alice")
    assert fmt.alias_colour("alice") in fmt.ALIAS_COLOURS
    assert len({fmt.alias_colour(name) for name in ("alice", "bob", "carol", "dave", "erin", "frank")}) > 1


def test_warning_lines_are_red() -> None:
    line = fmt.warning_line(0.0, "bob's identity key changed")
    assert line.plain.endswith("! bob's identity key changed")
    assert any("red" in str(span.style) for span in line.spans)


def test_the_log_shows_the_words_of_the_line_client_with_time_and_colour() -> None:
    fingerprint = Fingerprint(bytes(32))
    events: list[ev.ChatEvent] = [
        ev.MessageReceived("r", "bob", "hi", True, "bob/1", 1, TrustState.CHANGED),
        ev.MemberJoined("bob", fingerprint, TrustState.NEW),
        ev.WarningEvent("bad_mac", "message from bob rejected", "bob"),
        ev.ErrorEvent("usage", "/join needs a room"),
        ev.Reconnecting(1, 0.5, "refused"),
        ev.Reconnected(1, 0.5, "r"),
        ev.Disconnected("gone"),
    ]
    styles = []
    for event in events:
        for line in describe(event, "me"):
            shown = fmt.log_line(0.0, line)
            expected = plain(line).removeprefix("[r] ")  # the header names the room
            assert shown.plain == f"{fmt.clock(0.0)} {expected}"
            styles.append({str(span.style) for span in shown.spans})
    assert any("red" in style for style in styles[0])  # the [unverified key] mark
    assert [any("red" in style for style in found) for found in styles[2:4]] == [True, True]
    assert "yellow" in styles[4] and "green" in styles[5] and "bold red" in styles[6]


def test_member_list_shows_fingerprints_and_trust() -> None:
    mine = Fingerprint(bytes(range(32)))
    theirs = Fingerprint(bytes(32))
    members = (
        MemberView("bob", theirs, TrustState.CHANGED),
        MemberView("carol", theirs, TrustState.VERIFIED),
        MemberView("mallory", None),
    )
    text = fmt.member_list(Members("r", MemberView("alice", mine), members))
    lines = text.plain.splitlines()
    assert lines[0] == "Members (4)"
    assert lines[1:3] == ["alice (you)", f"  {mine.short}"]
    assert lines[3:5] == ["bob", "  00000 00000 CHANGED"]
    assert lines[5:7] == ["carol", "  00000 00000 verified"]
    assert lines[7:] == ["mallory", "  unusable keys"]
    changed = [span for span in text.spans if text.plain[span.start : span.end] == "CHANGED"]
    assert changed and "red" in str(changed[0].style)


def test_trace_detail_shows_every_field_and_check() -> None:
    record = TraceRecord(
        "open",
        "3des",
        "bob",
        "bob/1",
        3,
        ("alice",),
        {"iv": "00" * 8, "ciphertext": "ab" * 16, "mac": "cd" * 32, "signature": "ef" * 256},
        (("mac", True), ("signature", True)),
        detail="3DES-CBC + HMAC-SHA256",
        first_block="ab" * 8,
    )
    detail = fmt.trace_detail(7, record).plain
    assert detail.startswith("#7 opened from bob, 3des, key bob/1, counter 3")
    for name, value in record.fields.items():
        assert f"{name}" in detail and value in detail
    assert "checks: mac ok  signature ok" in detail
    assert "/trace rounds 7" in detail
    row = fmt.trace_row(7, record)
    assert row[:6] == ("7", row[1], "opened", "bob", "bob/1", "3")
    assert isinstance(row[6], Text) and row[6].plain == "verified"
    failed = TraceRecord("reject", "3des", "bob", "bob/1", 4, checks=(("mac", False),))
    assert fmt.trace_outcome(failed).plain == "FAILED"
    assert "mac FAILED" in fmt.trace_detail(8, failed).plain


def test_long_hex_is_cut_with_its_length() -> None:
    record = TraceRecord("seal", "rsa", "alice", "alice/1", 1, fields={"ciphertext": "ab" * 4000})
    detail = fmt.trace_detail(1, record).plain
    assert "(4000 bytes in all)" in detail
    assert len(detail) < 2000


def test_wire_entries_show_the_frame_as_sent() -> None:
    obj = {"type": "message", "v": 2, "body": {"ct": "q83vEjRW"}}
    raw = encode_frame(obj)
    entry = fmt.wire_entry(WireFrame("sent", raw, obj)).plain
    first, second = entry.split("\n")
    assert "-> sent message" in first and f"{len(raw)} bytes" in first and raw[:4].hex() in first
    assert second == raw[4:].decode()
