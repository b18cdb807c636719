"""The ``nbtrack`` command line (a view: it reads through query/ and changes through lifecycle/)."""

from nbtrack.cli.main import main

__all__ = ["main"]
