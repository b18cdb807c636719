"""Canonical, process-independent encodings of Python values, hashed by ``capture.hashing``:
the encoder (plain values and containers), large containers in chunks, code (functions, classes,
modules) and arrays (numpy, pandas). Importing any of them runs this first, so the encoder
always knows the others."""

from nbtrack.capture.canonical import arrays, code, containers, encoder

HASH_SCHEME = 2
"""Bumped when the hashes of some values change: 2 = large containers hashed in chunks (values
of up to ``containers.BIG`` items hash as in scheme 1)."""

encoder.RESOLVERS[:] = [code.handler_for, arrays.handler_for]
encoder._EXACT.update(containers.HANDLERS)
