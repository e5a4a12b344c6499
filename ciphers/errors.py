"""One small error hierarchy for the whole toolkit.

Decryption failures all raise :class:`DecryptionError` with the same message, whatever went wrong,
so that our own API is never a padding oracle (RFC 8017 §7.1.2 note; Bleichenbacher 1998).
"""


class CryptoError(Exception):
    """Base class of every error the ciphers raise on purpose."""


class InvalidKeyError(CryptoError):
    """A key, IV or parameter is malformed: wrong length, not hex, out of range."""


class PaddingError(CryptoError):
    """PKCS#7 (or other) padding is malformed."""


class BlockLengthError(CryptoError, ValueError):
    """Data that a mode needs in whole blocks (ECB/CBC ciphertext, unpadded plaintext) is not."""


class MessageTooLongError(CryptoError, ValueError):
    """RFC 8017 "message too long": the message does not fit the key with this padding and hash."""


class DecryptionError(CryptoError):
    """Decryption failed. One message for every cause, so it cannot serve as an oracle."""

    def __init__(self, message: str = "decryption error") -> None:
        super().__init__(message)


class VerificationError(CryptoError):
    """A signature or MAC did not verify."""

    def __init__(self, message: str = "invalid signature") -> None:
        super().__init__(message)


class FormatError(CryptoError):
    """A serialised object (PEM, DER, JSON key, certificate) is malformed."""


class InsecureWarning(UserWarning):
    """A choice that works but is weak: a DES weak key, a degenerate 3DES key, a small RSA modulus."""
