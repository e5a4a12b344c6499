"""The end-to-end layer, pure (no sockets, no asyncio): suites, identities, trust, certificates,
the sealed formats of protocol v2 and the room session that seals and opens messages and key bundles.

Bottom up: :mod:`~chat.e2e.errors` (one error tree), :mod:`~chat.e2e.identity` (identity keys,
their bounds, fingerprints), :mod:`~chat.e2e.families` (RSA and ElGamal as strategy objects),
:mod:`~chat.e2e.suites` (the suites, one object each, and the one registry),
:mod:`~chat.e2e.sealed` (the specification: the bytes on the wire and the bytes signed, MACed and
ratcheted), :mod:`~chat.e2e.bodies` (reading and writing the bodies), :mod:`~chat.e2e.results`
(what the session returns), :mod:`~chat.e2e.chain` (sender chains), :mod:`~chat.e2e.views` (whom
each sender sends to), :mod:`~chat.e2e.room` (a room's members), the two message paths
:mod:`~chat.e2e.hybrid` (with :mod:`~chat.e2e.bundles`) and :mod:`~chat.e2e.direct`, and
:mod:`~chat.e2e.session` (``RoomSession``). Beside them: :mod:`~chat.e2e.trust` (trust on first
use), :mod:`~chat.e2e.certificates`, and :mod:`~chat.e2e.admission` (the proof of possession a
joiner gives the relay, and the relay's check of it).
"""
