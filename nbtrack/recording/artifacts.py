"""What an artifact is made of: a path inside its run and bytes, read from a file or a directory
or serialised from text, a dict (JSON or YAML) or a figure. The Run keeps and writes them."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from nbtrack.errors import ValidationError

Artifact = tuple[str, bytes]


def artifact_name(name: object) -> str:
    """``name`` as a clean relative path ("a/b.txt"); an absolute path or ``..`` is refused."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"artifact path must be a non-empty string, got {name!r:.80}")
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts or name.startswith(("/", "\\")) or ":" in parts[0]:
        raise ValidationError(
            f"artifact path {name!r} must be relative and stay inside the run (no '..', no leading '/')"
        )
    return "/".join(parts)


def file_artifacts(
    local_path: str | os.PathLike[str], artifact_path: str | None
) -> tuple[str, Iterator[Artifact]]:
    """The artifact path of a file or directory, and its files read one at a time (a
    directory's files sorted, symlinks left out)."""
    src = Path(local_path)
    if not src.exists():
        raise ValidationError(f"artifact {str(src)!r} does not exist")
    base = artifact_name(artifact_path or src.name)
    return base, _read_files(src, base)


def _read_files(src: Path, base: str) -> Iterator[Artifact]:
    if src.is_dir():
        for f in sorted(p for p in src.rglob("*") if p.is_file() and not p.is_symlink()):
            yield f"{base}/{f.relative_to(src).as_posix()}", f.read_bytes()
    else:
        yield base, src.read_bytes()


def text_artifact(text: str, artifact_file: str) -> Artifact:
    if not isinstance(text, str):
        raise ValidationError(f"log_text needs a str, got {type(text).__name__}")
    return artifact_name(artifact_file), text.encode("utf-8", "backslashreplace")


def dict_artifact(dictionary: Mapping[str, Any], artifact_file: str) -> Artifact:
    """YAML for a .yaml or .yml name (needs PyYAML), JSON otherwise."""
    name = artifact_name(artifact_file)
    try:
        if name.endswith((".yaml", ".yml")):
            import yaml  # type: ignore[import-untyped]

            data = yaml.safe_dump(dict(dictionary)).encode()
        else:
            data = json.dumps(dictionary, indent=2, sort_keys=True, default=str).encode()
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValidationError(f"log_dict could not serialise {artifact_file!r}: {exc}") from None
    except ImportError:
        raise ImportError("logging YAML needs PyYAML: pip install pyyaml") from None
    return name, data


def figure_artifact(figure: Any, artifact_file: str) -> Artifact:
    """A matplotlib figure (png/svg/pdf by extension) or an Altair chart (html/json/png/svg)."""
    name = artifact_name(artifact_file)
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if hasattr(figure, "savefig"):
        buf = io.BytesIO()
        figure.savefig(buf, format=ext or "png")
        data = buf.getvalue()
    elif hasattr(figure, "to_dict") and hasattr(figure, "to_json"):
        if ext == "json":
            data = figure.to_json().encode()
        elif ext in ("png", "svg"):
            buf = io.BytesIO()
            figure.save(buf, format=ext)  # needs vl-convert-python
            data = buf.getvalue()
        else:
            data = figure.to_html().encode()
    else:
        raise ValidationError(
            f"log_figure takes a matplotlib figure or an Altair chart, got {type(figure).__name__}"
        )
    return name, data
