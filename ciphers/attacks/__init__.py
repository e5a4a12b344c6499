"""The classic attacks, one module per family, each run against our own ciphers at toy sizes.

Every attack here is the reason for a default elsewhere in the toolkit:

* :mod:`~ciphers.attacks.rsa` — textbook RSA is malleable and deterministic, small exponents and
  close or shared primes are fatal: hence OAEP, e = 65537 and FIPS 186-5 key generation.
* :mod:`~ciphers.attacks.bleichenbacher` — a PKCS#1 v1.5 padding oracle decrypts (1998) and a
  lax signature parser accepts cube roots (2006): hence OAEP, and verification by re-encoding.
* :mod:`~ciphers.attacks.des` — a 56-bit key falls to search, double DES to meet-in-the-middle, and
  CBC with a padding oracle to Vaudenay: hence Triple DES with three keys, and encrypt-then-MAC.
* :mod:`~ciphers.attacks.elgamal` and :mod:`~ciphers.attacks.dlog` — reused nonces give away the
  plaintext or the key, classic signatures are forgeable (unhashed, and with r = (p - 1)/2 even
  hashed), Z_p* leaks the Legendre symbol and a smooth p - 1 gives away every discrete log: hence
  fresh nonces, DSA-form signatures with RFC 6979 nonces, and the prime-order subgroup of a
  safe-prime group.

Functions are pure: they take the public values (and an oracle, a closure standing for the victim
that answers one yes/no question) and return what they recovered, with the count of trials or
queries where the cost is the lesson. They print nothing and draw randomness only from an ``rng``
argument. Parameters are toy-sized so each attack runs in seconds; the module docstrings say how
the cost grows.
"""
