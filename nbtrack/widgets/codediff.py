"""The cell-level code diff lives in :mod:`nbtrack.codediff` (shared with ``nbtrack compare``)."""

from __future__ import annotations

from ..codediff import diff_cells, line_diff

__all__ = ["diff_cells", "line_diff"]
