"""The models a run holds, read off its artifacts: each model ``log_model`` stored is a folder
``models/<name>/`` with its file and an ``MLmodel.json`` (flavor, format, class, the library
versions it was saved with). The run read model lists them with the Python that loads them."""

from __future__ import annotations

import json
from typing import Any

from nbtrack.store import Store

MODELS_DIR = "models"
METADATA_FILE = "MLmodel.json"


def model_dir(name: str) -> str:
    return f"{MODELS_DIR}/{name}"


def load_snippet(run_id: str, name: str) -> str:
    """The Python a user pastes to get the model back."""
    return f'model = nbtrack.load_model("{run_id}", "{name}")'


def model_metadata(store: Store, artifacts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{name: metadata}`` of the models among a run's artifacts (``Store.artifacts_of`` rows,
    or the read model's with ``hash``); a metadata file that cannot be read is left out."""
    out: dict[str, dict[str, Any]] = {}
    for a in artifacts:
        parts = a["path"].split("/")
        if len(parts) != 3 or parts[0] != MODELS_DIR or parts[2] != METADATA_FILE:
            continue
        try:
            meta = json.loads(store.get_blob(a.get("blob_hash") or a["hash"]))
        except Exception:
            continue
        if isinstance(meta, dict):
            out[parts[1]] = meta
    return out


def models_of(store: Store, run_id: str, artifacts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The run read model's ``models``: ``[{name, flavor, class, versions, path, snippet}]``."""
    return [
        {
            "name": name,
            "flavor": meta.get("flavor"),
            "class": meta.get("class"),
            "versions": meta.get("versions") or {},
            "path": model_dir(name),
            "snippet": load_snippet(run_id, name),
        }
        for name, meta in sorted(model_metadata(store, artifacts).items())
    ]
