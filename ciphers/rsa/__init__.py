"""RSA after RFC 8017 (PKCS #1 v2.2), one module per section: integer primitives (core), keys,
paddings (OAEP, PKCS#1 v1.5, PSS) and key formats (DER/PEM).

Textbook RSA (``core.rsaep``/``core.rsadp`` on bare integers) is deterministic and malleable:
insecure, here for teaching. Use OAEP to encrypt and PSS to sign.
"""
