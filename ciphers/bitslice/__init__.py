"""Bitslice DES: Biham, "A Fast New DES Implementation in Software" (FSE 1997). INSECURE: DES.

DES has a 56-bit key and falls to exhaustive search (this package does it, see
:mod:`ciphers.attacks.des`). It is here because it is how DES is made fast in software, and how
software key search is done (John the Ripper's DES is bitsliced).

Bit i of W blocks (or of one block under W keys) is kept in one W-bit word: a Python integer, of
any width. Then every permutation of DES is a renaming of words and costs nothing, and each S-box
is a Boolean circuit, one integer operation per gate, evaluated on all W lanes at once.

* :mod:`~ciphers.bitslice.gates`: circuits as data, checked on truth tables;
* :mod:`~ciphers.bitslice.search`: our program that derives the S-box circuits from the FIPS 46-3
  tables; :mod:`~ciphers.bitslice.sboxes` is what it wrote;
* :mod:`~ciphers.bitslice.transpose`: blocks into slices and back;
* :mod:`~ciphers.bitslice.des`: the rounds on slices, one key or many;
* :mod:`~ciphers.bitslice.bulk`: ECB, the CTR keystream and CBC streams side by side, on bytes.

Users meet it through :class:`ciphers.des_fast.FastDES` and :class:`ciphers.tdes.TripleDES`, whose
bulk operations :mod:`ciphers.modes` calls for long inputs, and through the key searches.
"""
