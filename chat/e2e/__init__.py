"""The end-to-end layer, pure (no sockets, no asyncio): suites, identities, trust, certificates,
the sealed formats and the room session that seals and opens messages and key bundles.

Bottom up: :mod:`~chat.e2e.errors` (one error tree), :mod:`~chat.e2e.identity` (identity keys,
fingerprints), :mod:`~chat.e2e.families` (RSA and ElGamal as strategy objects),
:mod:`~chat.e2e.suites` (the suites, one object each, and the one registry),
:mod:`~chat.e2e.sealed` (the bytes on the wire and the bytes signed), :mod:`~chat.e2e.results`
(what the session returns), :mod:`~chat.e2e.room` (a room's members and keys), the two message
paths :mod:`~chat.e2e.hybrid` and :mod:`~chat.e2e.direct`, and :mod:`~chat.e2e.session`
(``RoomSession``). Beside them: :mod:`~chat.e2e.trust` (trust on first use) and
:mod:`~chat.e2e.certificates`.
"""
