"""The version of the state hashes this nbtrack records, in a module that imports nothing, so
environment capture can name it in a bare replay environment."""

HASH_SCHEME = 3
"""Bumped when the hashes of some values change: 2 = large containers hashed in chunks (values
of up to ``canonical.containers.BIG`` items hash as in scheme 1); 3 = what statsmodels' cached
attributes computed is not state (``canonical.encoder.DERIVED``; other values hash as in 2)."""
