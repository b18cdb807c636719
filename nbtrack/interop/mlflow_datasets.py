"""A run's datasets as MLflow dataset inputs, and back.

An exported dataset keeps nbtrack's name and digest; its schema is written in MLflow's own form
(``mlflow_colspec`` for a table, ``mlflow_tensorspec`` for an array) so MLflow's UI shows it,
and the profile carries ``num_rows`` plus nbtrack's own description (``nbtrack``: kind, schema,
rows, source), from which an import restores the dataset exactly. The context is the input tag
``mlflow.data.context``, as ``mlflow.log_input`` writes it. Datasets logged by MLflow itself are
read from their colspec/tensorspec schema, ``num_rows`` profile and source.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

CONTEXT_TAG = "mlflow.data.context"  # mlflow.utils.mlflow_tags.MLFLOW_DATASET_CONTEXT

# pandas dtype -> MLflow's column type (mlflow.types.DataType); anything else is "string"
_MLFLOW_TYPES = {
    "int8": "integer",
    "int16": "integer",
    "int32": "integer",
    "int64": "long",
    "uint8": "integer",
    "uint16": "integer",
    "uint32": "long",
    "uint64": "long",
    "float16": "float",
    "float32": "float",
    "float64": "double",
    "bool": "boolean",
    "boolean": "boolean",
    "bytes": "binary",
}


def to_mlflow(d: Mapping[str, Any]) -> Any:
    """An ``mlflow.entities.DatasetInput`` for one of a run's datasets (``Store.datasets_of``)."""
    from mlflow.entities import Dataset, DatasetInput, InputTag

    rows, schema, kind = d["rows"], d["schema"], d["kind"]
    profile: dict[str, Any] = {}
    if rows is not None:
        profile["num_rows"] = rows
    if kind == "dataframe" and isinstance(schema, list) and rows is not None:
        profile["num_elements"] = rows * len(schema)
    profile["nbtrack"] = {"kind": kind, "schema": schema, "rows": rows, "source": d["source"]}
    if d["source"] is not None:
        source_type, source = "local", json.dumps({"uri": d["source"]})
    else:
        source_type, source = "code", json.dumps({"tags": {}})
    dataset = Dataset(
        name=d["name"],
        digest=d["digest"],
        source_type=source_type,
        source=source,
        schema=_mlflow_schema(kind, schema),
        profile=json.dumps(profile),
    )
    tags = [InputTag(CONTEXT_TAG, d["context"])] if d["context"] else []
    return DatasetInput(dataset, tags)


def _mlflow_schema(kind: str, schema: Any) -> str | None:
    if kind == "dataframe" and isinstance(schema, list):
        cols = [
            {"type": _mlflow_type(c.get("type")), "name": c.get("name"), "required": True}
            for c in schema
        ]
        return json.dumps({"mlflow_colspec": cols})
    if kind == "array" and isinstance(schema, dict):
        shape = list(schema.get("shape") or [])
        spec = {"dtype": schema.get("dtype"), "shape": [-1, *shape[1:]] if shape else []}
        features = json.dumps([{"type": "tensor", "tensor-spec": spec}])
        return json.dumps({"mlflow_tensorspec": {"features": features, "targets": None}})
    return None


def _mlflow_type(dtype: Any) -> str:
    text = str(dtype)
    if text.startswith("datetime64"):
        return "datetime"
    return _MLFLOW_TYPES.get(text.lower(), "string")


def from_mlflow(dataset_input: Any) -> dict[str, Any]:
    """One of a run's datasets (as ``Store.add_datasets`` takes it) from an MLflow dataset input."""
    ds = dataset_input.dataset
    context = next((t.value for t in dataset_input.tags or [] if t.key == CONTEXT_TAG), None)
    profile = _json(ds.profile)
    profile = profile if isinstance(profile, dict) else {}
    ours = profile.get("nbtrack")
    # nbtrack keeps names and contexts of up to 256 characters (MLflow: 500)
    out = {"name": ds.name[:256], "digest": ds.digest, "context": context and context[:256]}
    if isinstance(ours, dict):
        return {**out, **{k: ours.get(k) for k in ("kind", "schema", "rows", "source")}}
    schema = _json(ds.schema)
    kind, table = _kind_and_schema(schema, ds.source_type)
    rows = profile.get("num_rows")
    source = _json(ds.source)
    uri = source.get("uri") or source.get("path") if isinstance(source, dict) else None
    return {
        **out,
        "kind": kind,
        "schema": table,
        "rows": int(rows) if isinstance(rows, (int, float)) else None,
        "source": uri if isinstance(uri, str) else ds.source,
    }


def _kind_and_schema(schema: Any, source_type: str | None) -> tuple[str, Any]:
    if isinstance(schema, dict) and isinstance(schema.get("mlflow_colspec"), list):
        cols = [
            {"name": c.get("name"), "type": c.get("type")}
            for c in schema["mlflow_colspec"]
            if isinstance(c, dict)
        ]
        return "dataframe", cols
    if isinstance(schema, dict) and "mlflow_tensorspec" in schema:
        return "array", schema
    return ("file" if source_type == "local" else "other"), schema


def _json(text: Any) -> Any:
    if not isinstance(text, str) or not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
