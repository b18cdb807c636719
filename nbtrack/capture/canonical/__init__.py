"""Canonical, process-independent encodings of Python values, hashed by ``capture.hashing``:
the encoder (plain values and containers), large containers in chunks, code (functions, classes,
modules) and arrays (numpy, pandas). Importing any of them runs this first, so the encoder
always knows the others."""

from nbtrack.capture.canonical import arrays, code, containers, encoder
from nbtrack.capture.hash_scheme import HASH_SCHEME

__all__ = ["HASH_SCHEME"]

encoder.RESOLVERS[:] = [code.handler_for, arrays.handler_for]
encoder._EXACT.update(containers.HANDLERS)
