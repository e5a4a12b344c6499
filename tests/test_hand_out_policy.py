"""The key hand-out policy of the application core (issue 10), against a relay that lies.

Bob runs the application core (chat.app.ChatSession) behind a proxy that rewrites what the relay
sends him; alice is an ordinary client. With alice's key pinned in bob's store, the relay puts
mallory's key in alice's entry of bob's ``welcome``: bob's screen says ``identity_changed``, and
nothing bob sends carries a payload for "alice" (no chain wrapped, no message encrypted to
mallory's key), until bob ``/trust``\\s the new key. Under ``--ca``, a member without a valid
certificate gets nothing either. A first contact is trust on first use, and says so.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest

from chat.app.chat_session import ChatSession, SessionOptions
from chat.client import events as ev
from chat.client.chat_client import ChatClient
from chat.client.store import known_peers
from chat.relay.server import ServerConfig, serve
from chat.ui.text import plain_lines
from tests.chat_net import Recorder, TapProxy, eventually, run
from tests.chat_support import identity, wire
from tests.test_certificates import ca_key

pytestmark = pytest.mark.usefixtures("config_home")

ROOMS = itertools.count()
CHANGED = "its identity key CHANGED (/verify alice, then /trust alice if the numbers match)"


def substitute(alias: str, impostor: str) -> Any:
    """A ``down`` hook: ``alias``'s entry in the ``welcome`` bob receives carries ``impostor``'s key."""

    def down(number: int, link_alias: str | None, obj: dict[str, Any]) -> list[dict[str, Any]]:
        if link_alias != "bob" or obj.get("type") != "welcome":
            return [obj]
        forged = copy.deepcopy(obj)  # a new object: the proxy re-encodes it
        for member in forged["members"]:
            if member["alias"] == alias:
                member["identity"] = dict(wire(impostor))
        return [forged]

    return down


def payload_owners(frames: list[dict[str, Any]]) -> set[str]:
    """Every alias a key bundle or a message of these frames carries a payload for."""
    found: set[str] = set()
    for frame in frames:
        if frame.get("type") in ("key_bundle", "message"):
            found |= set(frame.get("payloads") or {})
    return found


@pytest.mark.parametrize("suite", ["3des", "rsa"])
def test_a_substituted_identity_gets_no_key_until_trusted(suite: str) -> None:
    async def scenario() -> None:
        server = await serve(ServerConfig(port=0))
        proxy = await TapProxy(server.port, down=substitute("alice", "mallory")).start()
        room = f"pinned-{next(ROOMS)}"
        alice = ChatClient("alice", identity("alice"), ping_interval=None)
        await alice.connect("127.0.0.1", server.port)
        await alice.join(room, suite)
        pinned = known_peers("bob", "127.0.0.1", proxy.port)
        pinned.check("alice", identity("alice").fingerprint)  # bob has met the real alice before
        session = ChatSession(SessionOptions("bob", port=proxy.port), identity("bob"))
        await session.open(room)
        bob = Recorder(session)
        await eventually(lambda: bool(bob.of(ev.KeyWithheld)), "the key withheld")
        await session.say("for my eyes and alice's")
        await eventually(lambda: bool(bob.of(ev.MessageSent)), "the message sealed")
        assert bob.of(ev.MessageSent)[0].recipients == ()  # sealed for nobody: no one else gets our key
        lines = [line for event in bob.events for line in plain_lines(event, "bob")]
        assert any(
            line.startswith("! warning identity_changed from alice: alice's identity key changed")
            for line in lines
        )
        assert f"! your key is withheld from alice: {CHANGED}" in lines
        assert session.who().members[0].trust is not None and session.client.session is not None
        assert session.client.session.recipients == ()
        up = proxy.link("bob").up_frames
        assert "alice" not in payload_owners(up)  # nothing wrapped or encrypted to mallory's key
        seen = len(up)
        trusted = await session.trust("alice")
        assert trusted.fingerprint == identity("mallory").fingerprint  # what bob was shown, and accepted
        await session.say("now to the key I trusted")
        await eventually(
            lambda: "alice" in payload_owners(proxy.link("bob").up_frames[seen:]), "the hand-over"
        )
        assert session.client.session.recipients == ("alice",)
        await bob.stop()
        await alice.close()
        await proxy.close()
        await server.close()

    run(scenario)


def test_under_ca_a_member_without_a_valid_certificate_gets_no_key() -> None:
    async def scenario() -> None:
        server = await serve(ServerConfig(port=0))
        proxy = await TapProxy(server.port).start()
        room = f"certified-{next(ROOMS)}"
        alice = ChatClient("alice", identity("alice"), ping_interval=None)
        await alice.connect("127.0.0.1", server.port)
        await alice.join(room)
        session = ChatSession(
            SessionOptions("bob", port=proxy.port, ca=ca_key().public_key()), identity("bob")
        )
        await session.open(room)
        bob = Recorder(session)
        await eventually(lambda: bool(bob.of(ev.KeyWithheld)), "the key withheld")
        (withheld,) = bob.of(ev.KeyWithheld)
        assert (withheld.alias, withheld.why) == ("alice", "policy")
        assert withheld.reason == "its certificate does not hold (no certificate)"
        assert "alice" not in payload_owners(proxy.link("bob").up_frames)
        assert [e.alias for e in bob.of(ev.FirstContact)] == ["alice"]  # trust on first use, said
        await bob.stop()
        await alice.close()
        await proxy.close()
        await server.close()

    run(scenario)
