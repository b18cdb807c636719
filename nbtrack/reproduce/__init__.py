"""Reproduction: executing notebooks in fresh kernels, replay and its verdict, exports (script,
notebook, bundle) and slicing."""
