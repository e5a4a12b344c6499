"""The asyncio client: the connection to a relay (:mod:`chat.client.chat_client`, its frame handlers
in :mod:`chat.client.handlers`), reconnection (:mod:`chat.client.reconnect`, on the schedule of
:mod:`chat.client.backoff`), the one vocabulary of what a user sees (:mod:`chat.client.events`), and
the store where a client keeps identities and known peers (:mod:`chat.client.store`)."""
