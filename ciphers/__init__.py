"""cipherchat's ciphers: DES and Triple DES (FIPS 46-3), the NIST modes, RSA (RFC 8017) and ElGamal.

Written to be read beside the standards. DES has a 56-bit key and is broken; textbook RSA and
ElGamal are malleable. They are here to be learned from, and each is labelled where it is met.
"""
