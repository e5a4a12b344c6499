"""The asyncio client: the connection to a relay (:mod:`chat.client.chat_client`), reconnection,
the events a client reports, and the store where it keeps identities and known peers."""
