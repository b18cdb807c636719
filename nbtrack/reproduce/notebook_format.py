"""nbformat, imported without the optional part of jsonschema that costs seconds."""

from __future__ import annotations

import sys
from typing import Any


def import_nbformat() -> Any:
    """``nbformat``, imported without jsonschema's optional IRI checker: its rfc3987-syntax
    package compiles 39 lark grammars at import (seconds of CPU), and notebooks use no IRI."""
    if (
        "nbformat" not in sys.modules
        and "jsonschema" not in sys.modules
        and "rfc3987_syntax" not in sys.modules
    ):
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # makes the import fail fast
        try:
            import nbformat
        finally:
            if "rfc3987_syntax" in sys.modules and sys.modules["rfc3987_syntax"] is None:
                del sys.modules["rfc3987_syntax"]
    import nbformat

    return nbformat
