"""The errors of the end-to-end layer: one tree, and each message one line a user can read.

::

    E2EError                  input from a member, a relay or a file that cannot be used (a ValueError)
     ├─ FieldError            a body or payload field is missing, unexpected or mis-encoded (sealed)
     ├─ IdentityError         an identity that is malformed, too weak, or stored unsafely (identity)
     └─ CertificateError      a certificate, a subject to certify or a CA key file that is malformed
                              (certificates); also a :class:`ciphers.errors.FormatError`, since a
                              certificate is a serialised object like a PEM key

Cryptographic failures stay the toolkit's own (:mod:`ciphers.errors`): a MAC or a signature that
does not verify is a :class:`~ciphers.errors.VerificationError`, a ciphertext that does not decrypt
a :class:`~ciphers.errors.DecryptionError`; the session turns both into a rejection with a reason.
"""

from __future__ import annotations

from ciphers.errors import FormatError


class E2EError(ValueError):
    """Something the end-to-end layer was given cannot be used. ``str()`` is one line, for users."""


class FieldError(E2EError):
    """A body or payload field is missing, unexpected or mis-encoded."""


class IdentityError(E2EError):
    """An identity that cannot be used: malformed, too weak, or stored unsafely."""


class CertificateError(E2EError, FormatError):
    """A certificate (or the identity file or key it is issued from, or a CA key) is malformed."""
