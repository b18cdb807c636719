"""The version of the state hashes this nbtrack records, in a module that imports nothing, so
environment capture can name it in a bare replay environment."""

HASH_SCHEME = 2
"""Bumped when the hashes of some values change: 2 = large containers hashed in chunks (values
of up to ``canonical.containers.BIG`` items hash as in scheme 1)."""
