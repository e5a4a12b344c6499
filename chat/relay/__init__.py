"""The relay: an asyncio server over the sans-IO protocol, its rooms, and the operator's console.
It forwards ciphertext it cannot read; it imports nothing of the end-to-end layer."""
