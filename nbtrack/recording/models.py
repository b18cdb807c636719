"""``log_model`` / ``load_model``: a trained model kept as run artifacts in its library's own
format, with the library versions it was saved with (``models/<name>/MLmodel.json``, as MLflow's
MLmodel file), so loading it later can say when the versions differ.

Flavors: ``sklearn`` (any scikit-learn estimator or pipeline, pickled), ``xgboost`` (a Booster or
an ``XGBModel`` in XGBoost's own UBJSON format), ``lightgbm`` (a Booster as LightGBM's model
text, an ``LGBMModel`` pickled as MLflow does), ``keras`` (a Keras 3 model in the ``.keras``
format, with the backend it was trained on; loaded with ``keras.saving.load_model``, so custom
layers must be registered with Keras to load). A pickle runs code when loaded: load models only
from stores you trust, as with any pickle.
"""

from __future__ import annotations

import importlib
import json
import os
import pickle
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from nbtrack import validation as v
from nbtrack.errors import NotFoundError, ValidationError
from nbtrack.query.models import METADATA_FILE, load_snippet, model_dir, model_metadata
from nbtrack.recording.run import Run
from nbtrack.store import Store, open_store
from nbtrack.version import __version__

# import name -> the name users install it by, as recorded in MLmodel.json
DISTRIBUTIONS = {
    "sklearn": "scikit-learn",
    "xgboost": "xgboost",
    "lightgbm": "lightgbm",
    "keras": "keras",
}


class ModelVersionWarning(UserWarning):
    """A model is loaded with library versions other than those it was saved with."""


def flavor_of(model: Any) -> str:
    """``sklearn``, ``xgboost``, ``lightgbm`` or ``keras``, from the model's class."""
    top = type(model).__module__.split(".")[0]
    if top in ("xgboost", "lightgbm", "keras"):
        return top
    if top == "sklearn" or (hasattr(model, "get_params") and hasattr(model, "fit")):
        return "sklearn"
    raise ValidationError(
        f"log_model takes a scikit-learn estimator, an XGBoost or a LightGBM model (Booster or "
        f"scikit-learn API) or a Keras model, got {type(model).__module__}.{type(model).__qualname__}"
    )


def _version(module: str) -> str | None:
    mod = sys.modules.get(module)
    if mod is None:
        try:
            mod = importlib.import_module(module)
        except Exception:
            return None
    return str(getattr(mod, "__version__", "")) or None


def _libraries(model: Any, flavor: str) -> list[str]:
    """The libraries a model needs to load: its flavor's, and for a pickle those of every
    estimator inside it (a Pipeline holding an XGBClassifier needs xgboost too)."""
    found = {"sklearn" if flavor == "sklearn" else flavor, "numpy"}
    objects = [model]
    if hasattr(model, "get_params"):
        try:
            objects += list(model.get_params(deep=True).values())
        except Exception:
            pass
    for obj in objects:
        top = type(obj).__module__.split(".")[0]
        if top in DISTRIBUTIONS:
            found.add(top)
    return sorted(found)


def _versions(libraries: list[str]) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for lib in libraries:
        ver = _version(lib)
        if ver:
            out[DISTRIBUTIONS.get(lib, lib)] = ver
    return out


def _save(model: Any, flavor: str, folder: Path) -> tuple[str, str]:
    """Write the model into ``folder``; returns (file name, format)."""
    if flavor == "xgboost":
        import xgboost

        if isinstance(model, xgboost.Booster):
            (folder / "model.ubj").write_bytes(bytes(model.save_raw(raw_format="ubj")))
        else:
            model.save_model(str(folder / "model.ubj"))
        return "model.ubj", "ubj"
    if flavor == "keras":
        model.save(str(folder / "model.keras"))
        return "model.keras", "keras"
    if flavor == "lightgbm":
        import lightgbm

        if isinstance(model, lightgbm.Booster):
            (folder / "model.txt").write_text(model.model_to_string())
            return "model.txt", "text"
    (folder / "model.pkl").write_bytes(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
    return "model.pkl", "pickle"


def _backend(flavor: str) -> dict[str, Any]:
    """A Keras model's backend (``{"keras_backend": "jax 0.4.30"}``): informative only, as a
    ``.keras`` file loads under any backend."""
    if flavor != "keras":
        return {}
    import keras

    name = str(keras.backend.backend())
    version = _version({"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(name, ""))
    return {"keras_backend": f"{name} {version}" if version else name}


def check_model_name(name: object) -> str:
    name = v.check_name("model", name)
    if "/" in name or name != name.strip():
        raise ValidationError(f"model name {name!r} must be one path segment (no '/')")
    return name


def log_model_to(run: Run, model: Any, name: str = "model") -> dict[str, Any]:
    """Store ``model`` in ``run`` as ``models/<name>/``; returns its metadata with the snippet."""
    name = check_model_name(name)
    flavor = flavor_of(model)
    cls = f"{type(model).__module__}.{type(model).__qualname__}"
    with tempfile.TemporaryDirectory(prefix="nbtrack-model-") as tmp:
        folder = Path(tmp)
        file, fmt = _save(model, flavor, folder)
        meta = {
            "name": name,
            "flavor": flavor,
            "format": fmt,
            "file": file,
            "class": cls,
            "versions": _versions(_libraries(model, flavor)),
            "nbtrack_version": __version__,
            "run_id": run.id,
            "created": time.time(),
            **_backend(flavor),
        }
        (folder / METADATA_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True))
        run.log_artifact(folder, model_dir(name))
    return {**meta, "snippet": load_snippet(run.id, name)}


def log_model(model: Any, name: str = "model") -> dict[str, Any]:
    """Store a trained model in the active run (one is started if there is none) with the
    library versions it was saved with; returns its metadata and the Python that loads it."""
    from nbtrack.recording.fluent import _current

    return log_model_to(_current("log_model"), model, name)


def load_model(
    run: str | Run | dict[str, Any],
    name: str = "model",
    *,
    store: str | os.PathLike[str] | Store | None = None,
) -> Any:
    """The model ``log_model`` stored as ``name`` in ``run`` (a Run, a run id or a unique
    prefix of one). Warns (:class:`ModelVersionWarning`) when the libraries installed now differ
    from those it was saved with."""
    name = check_model_name(name)
    ref: Any = run.get("id") if isinstance(run, dict) else run
    if isinstance(run, Run):
        st, ref = (run.store if store is None else open_store(store)), run.id
        run.flush()
    else:
        st = open_store(store)
    if not isinstance(ref, str):
        raise ValidationError(f"load_model needs a run or a run id, got {run!r:.80}")
    run_id = st.resolve_run_id(ref)
    artifacts = st.artifacts_of(run_id)
    meta = model_metadata(st, artifacts).get(name)
    if meta is None:
        have = sorted(model_metadata(st, artifacts))
        raise NotFoundError(
            f"run {run_id[:8]} has no model {name!r}"
            + (f"; it has {', '.join(map(repr, have))}" if have else "; it has no models")
        )
    path = f"{model_dir(name)}/{meta.get('file')}"
    blob = next((a["blob_hash"] for a in artifacts if a["path"] == path), None)
    if blob is None:
        raise NotFoundError(f"run {run_id[:8]}: the file {path!r} of model {name!r} is missing")
    _check_versions(meta, run_id)
    return _load(meta, st.get_blob(blob))


def _check_versions(meta: dict[str, Any], run_id: str) -> None:
    saved = meta.get("versions") or {}
    modules = {dist: mod for mod, dist in DISTRIBUTIONS.items()}
    differ = []
    for dist, ver in sorted(saved.items()):
        if dist == "python":
            now = platform.python_version()
            if now.split(".")[:2] != str(ver).split(".")[:2]:
                differ.append(f"python {ver} (now {now})")
            continue
        module = modules.get(dist, dist)
        now_ver = _version(module)
        if now_ver is None:
            raise ImportError(
                f"model {meta.get('name')!r} of run {run_id[:8]} needs {dist} (saved with {ver}): "
                f"pip install {dist}"
            )
        if now_ver != ver:
            differ.append(f"{dist} {ver} (now {now_ver})")
    if differ:
        warnings.warn(
            f"model {meta.get('name')!r} of run {run_id[:8]} was saved with {', '.join(differ)}; "
            "it may not load or predict the same",
            ModelVersionWarning,
            stacklevel=3,
        )


def _load(meta: dict[str, Any], data: bytes) -> Any:
    fmt, flavor, cls = meta.get("format"), meta.get("flavor"), str(meta.get("class", ""))
    if fmt == "pickle":
        return pickle.loads(data)
    if flavor == "xgboost" and fmt == "ubj":
        import xgboost

        module, _, qualname = cls.rpartition(".")
        klass = getattr(importlib.import_module(module), qualname, None) if module else None
        model = klass() if klass is not None else xgboost.Booster()
        with tempfile.TemporaryDirectory(prefix="nbtrack-model-") as tmp:
            f = Path(tmp) / "model.ubj"
            f.write_bytes(data)
            model.load_model(str(f))
        return model
    if flavor == "keras" and fmt == "keras":
        import keras

        with tempfile.TemporaryDirectory(prefix="nbtrack-model-") as tmp:
            f = Path(tmp) / "model.keras"
            f.write_bytes(data)
            return keras.saving.load_model(str(f))
    if flavor == "lightgbm" and fmt == "text":
        import lightgbm

        return lightgbm.Booster(model_str=data.decode())
    raise ValidationError(f"model {meta.get('name')!r}: unknown flavor/format {flavor}/{fmt}")
