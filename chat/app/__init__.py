"""The application core both user interfaces drive (:class:`chat.app.chat_session.ChatSession`):
the client, reconnection, file transfers, trust on first use and certificate checks, wired once."""
