"""cipherchat's end-to-end encrypted chat: sans-IO protocol, relay server and clients."""
