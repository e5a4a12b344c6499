"""The end-to-end layer, pure (no sockets, no asyncio): suites, identities, trust, certificates,
the sealed formats and the room session that seals and opens messages and key bundles."""
