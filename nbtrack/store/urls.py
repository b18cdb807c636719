"""Where a store is: the default location, URLs and paths resolved one way, and URLs shown
without their passwords."""

from __future__ import annotations

import os

from nbtrack.errors import StoreError

DEFAULT_DIR = ".nbtrack"  # the store when neither --store nor NBTRACK_STORE names one
DB_FILE = "nbtrack.db"  # an embedded store is a directory holding this file (and blobs/)


def resolve_url(url: str | os.PathLike[str] | None = None) -> str:
    """The store to use: the argument, else ``NBTRACK_STORE``, else ``./.nbtrack``."""
    chosen = os.fspath(url) if url else os.environ.get("NBTRACK_STORE") or DEFAULT_DIR
    if "://" in chosen:
        return chosen
    return os.path.abspath(os.path.expanduser(chosen))


def make_store_dir(root: str) -> None:
    """Create the folder of an embedded store (and its parents) if it is not there; a
    :class:`StoreError` naming it if it cannot be made (a file in its place, no permission)."""
    if not os.path.isdir(root):
        try:
            os.makedirs(root, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the store directory {root}: {exc}") from exc


def mask_url(url: str) -> str:
    """A connection string with its password replaced by ``***``."""
    from sqlalchemy.engine import make_url

    if "://" not in url or url.startswith("file://"):
        return url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


def no_store_error(root: str) -> StoreError:
    """The error for a directory that holds no store: what is there, and how a store is made."""
    if not os.path.exists(root):
        what = "no such folder"
    elif not os.path.isdir(root):
        what = "not a folder"
    else:
        what = f"the folder has no {DB_FILE}"
    return StoreError(
        f"no nbtrack store at {root} ({what}): recording a run creates one (nbtrack run NOTEBOOK, "
        f"or %load_ext nbtrack in a notebook); choose another store with --store or NBTRACK_STORE "
        f"(default ./{DEFAULT_DIR})"
    )
