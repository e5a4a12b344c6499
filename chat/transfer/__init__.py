"""Encrypted file sharing over the chat: the formats and transfer state (pure), the downloads
folder, and the manager that runs transfers over a client."""
