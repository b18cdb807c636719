"""The version of nbtrack: labextension/package.json's, written to ``_version.py`` by the build."""

try:
    from nbtrack._version import __version__
except ImportError:  # a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
