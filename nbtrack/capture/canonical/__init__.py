"""Canonical, process-independent encodings of Python values, hashed by ``capture.hashing``:
the encoder (plain values and containers), code (functions, classes, modules) and arrays
(numpy, pandas). Importing any of them runs this first, so the encoder always knows the others."""

from nbtrack.capture.canonical import arrays, code, encoder

encoder.RESOLVERS[:] = [code.handler_for, arrays.handler_for]
