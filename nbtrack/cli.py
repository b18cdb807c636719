"""The ``nbtrack`` command line. Every command takes ``--store`` (default: NBTRACK_STORE or ./.nbtrack)."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .errors import NbtrackError

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    COMMANDS[fn.__name__.removeprefix("cmd_").replace("_", "-")] = fn
    return fn


def _store(args: argparse.Namespace, create: bool = False) -> Any:
    from .store import open_store

    return open_store(args.store, create=create)


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


# -- commands -------------------------------------------------------------------------------
@command
def cmd_run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .execute import run_notebook
    from .store import resolve_url
    from .validation import parse_assignment

    params = dict(parse_assignment("-p", p) for p in args.param)
    from .notebook_format import import_nbformat

    nbformat = import_nbformat()

    try:
        total = sum(c.cell_type == "code" for c in nbformat.read(args.notebook, as_version=4).cells)
    except Exception:
        total = None
    bar = tqdm(total=total, desc=args.notebook, unit="cell", file=sys.stderr, disable=args.quiet or None)

    def on_cell(index: int, cell: Any, error: dict[str, Any] | None) -> None:
        bar.update(1)
        if error:
            tqdm.write(f"cell {index} failed: {error['type']}: {error['message']}", file=sys.stderr)

    run_id, ok = run_notebook(
        args.notebook,
        store_url=resolve_url(args.store),
        params=params,
        name=args.name,
        experiment=args.experiment,
        allow_errors=args.allow_errors,
        kernel_name=args.kernel,
        output=args.output,
        on_cell=on_cell,
    )
    bar.close()
    print(run_id)
    return 0 if ok else 1


@command
def cmd_runs(args: argparse.Namespace) -> int:
    from .records import run_record
    from .search import search_run_ids

    store = _store(args)
    store.detect_killed()
    ids, _ = search_run_ids(
        store,
        args.filter,
        [args.experiment] if args.experiment else None,
        args.order_by,
        args.max_results,
        include_deleted=args.deleted,
    )
    records = [run_record(r) for r in store.run_summaries(ids)]
    if args.format == "json":
        _print_json({"runs": records})
    elif args.format == "csv":
        _write_csv(records)
    else:
        _print_table(records)
    return 0


def _flat(record: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "name", "experiment", "status", "start_time", "end_time", "duration", "parent_run_id")
    row = {k: record[k] for k in keys}
    for group in ("params", "metrics", "tags"):
        row.update({f"{group}.{k}": v for k, v in record[group].items()})
    return row


def _write_csv(records: list[dict[str, Any]]) -> None:
    rows = [_flat(r) for r in records]
    fields: dict[str, None] = {}
    for r in rows:
        fields.update(dict.fromkeys(r))
    writer = csv.DictWriter(sys.stdout, fieldnames=list(fields))
    writer.writeheader()
    writer.writerows(rows)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _print_table(records: list[dict[str, Any]]) -> None:
    """A line per run; child runs indented under their parent."""
    from .runtree import nest

    if not records:
        print("no runs")
        return
    metric_keys = sorted({k for r in records for k in r["metrics"] if not k.startswith("system/")})[:4]
    header = ["id", "name", "experiment", "status", "started", "duration", *metric_keys]
    rows = []
    for depth, r in nest(records):
        duration = f"{r['duration']:.1f}s" if r["duration"] is not None else ""
        started = (r["start_time"] or "")[:19].replace("T", " ")
        name = ("  " * (depth - 1) + "└ " if depth else "") + r["name"]
        status = r["status"] + (" (deleted)" if r.get("deleted") else "")
        rows.append(
            [r["id"][:8], name, r["experiment"], status, started, duration,
             *[_fmt(r["metrics"].get(k)) for k in metric_keys]]
        )
    widths = [min(40, max(len(str(x)) for x in col)) for col in zip(header, *rows, strict=True)]
    for line in [header, *rows]:
        print("  ".join(str(x)[:w].ljust(w) for x, w in zip(line, widths, strict=True)).rstrip())


@command
def cmd_show(args: argparse.Namespace) -> int:
    from .records import run_detail

    store = _store(args)
    record = run_detail(store, store.resolve_run_id(args.run))
    if args.json:
        _print_json(record)
        return 0
    print(f"run {record['id']}  {record['name']}  [{record['status']}]  experiment {record['experiment']}")
    print(f"  started {record['start_time']}  ended {record['end_time'] or '-'}")
    nb = record["notebook"]
    if nb["path"]:
        dirty = " (uncommitted changes)" if nb["git_dirty"] else ""
        print(f"  notebook {nb['path']}  git {nb['git_commit'] or '-'}{dirty}")
    for group in ("params", "tags"):
        if record[group]:
            print(f"{group}:")
            for k, v in record[group].items():
                print(f"  {k} = {v}")
    if record["metric_summary"]:
        print("metrics (latest / min / max, points):")
        for k, m in record["metric_summary"].items():
            print(f"  {k} = {_fmt(m['latest'])} / {_fmt(m['min'])} / {_fmt(m['max'])}  ({m['count']})")
    if record["artifacts"]:
        print("artifacts:")
        for a in record["artifacts"]:
            print(f"  {a['path']} ({a['size']} bytes)")
    if record["cells"]:
        print(f"cells ({len(record['cells'])} executed, * = in the run):")
        for c in record["cells"]:
            first = next((ln for ln in c["source"].splitlines() if ln.strip()), "")
            mark = "*" if c["in_run"] else " "
            status = "" if c["status"] == "ok" else f"  !! {c['error']['type']}"
            print(f" {mark}{c['index']:>4} [{c['execution_count']}] {first[:70]}{status}")
    return 0


@command
def cmd_export(args: argparse.Namespace) -> int:
    from .export import export_run

    store = _store(args)

    def on_slice(sl: Any) -> None:
        if sl.verified is not False:
            print(sl.describe(), file=sys.stderr)

    path = export_run(store, store.resolve_run_id(args.run), args.format, args.output, args.slice,
                      verify=not args.no_verify, on_slice=on_slice)
    print(path)
    return 0


@command
def cmd_replay(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .replay import replay_run

    bar: Any = None

    def notify(kind: str, payload: Any) -> None:
        nonlocal bar
        if kind == "environment":
            print("environment differs from the recording:", file=sys.stderr)
            for line in payload:
                print(f"  {line}", file=sys.stderr)
        elif kind in ("input", "code"):
            print(f"warning: {payload}", file=sys.stderr)
        elif kind == "cell":
            done, total = payload
            if bar is None:
                bar = tqdm(total=total, desc="replay", unit="cell", file=sys.stderr, disable=None)
            bar.update(done - bar.n)

    if args.bundle:
        from .replay import replay_bundle
        from .store import open_store

        report = replay_bundle(args.bundle, open_store(args.store), kernel_name=args.kernel, until=args.until, notify=notify)
    elif args.run:
        report = replay_run(args.run, _store(args), kernel_name=args.kernel, until=args.until,
                            use_snapshot=args.use_snapshot, notify=notify)
    else:
        raise NbtrackError("name a RUN to replay, or give --bundle FILE")
    if bar is not None:
        bar.close()
    if args.json:
        _print_json(report.to_json())
    else:
        print("\n".join(report.lines()))
    return 0 if report.reproduced else 1


@command
def cmd_mlflow_export(args: argparse.Namespace) -> int:
    from .interop.mlflow_export import export_runs
    from .store.sql import mask_url

    store = _store(args)
    ids = [store.resolve_run_id(r) for r in args.runs]

    def notify(r: Any) -> None:
        print(f"{r.run_id[:8]} -> MLflow run {r.mlflow_run_id} ({r.action})")
        for note in r.notes:
            print(f"  note: {note}", file=sys.stderr)

    results = export_runs(store, ids, args.tracking_uri, args.experiment, notify=notify)
    print(f"exported {len(results)} run(s) to {mask_url(args.tracking_uri)}", file=sys.stderr)
    return 0


@command
def cmd_mlflow_import(args: argparse.Namespace) -> int:
    from .interop.mlflow_import import import_runs
    from .store.sql import mask_url

    def notify(r: Any) -> None:
        what = {"imported": "imported as", "skipped": "already imported as", "exported": "exported from"}[r.action]
        print(f"MLflow run {r.mlflow_run_id} ({r.experiment}/{r.name}) {what} {r.run_id[:8]}")

    results = import_runs(_store(args, create=True), args.tracking_uri, args.experiment, notify=notify)
    n = sum(r.action == "imported" for r in results)
    print(f"imported {n} of {len(results)} run(s) from {mask_url(args.tracking_uri)}", file=sys.stderr)
    return 0


@command
def cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import doctor

    report = doctor(args.store, repair=args.repair)
    if args.json:
        _print_json(report.to_json())
    else:
        print("\n".join(report.lines()))
    return 0 if report.healthy else 1


# -- parser ---------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nbtrack", description="Notebook-native experiment tracking.")
    parser.add_argument("--version", action="version", version=f"nbtrack {__import__('nbtrack').__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", help="store directory or URL (default: $NBTRACK_STORE or ./.nbtrack)")

    p = sub.add_parser("run", parents=[common], help="execute a notebook in a fresh kernel as one tracked run")
    p.add_argument("notebook")
    p.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                   help="parameter, logged and assigned after the cell tagged 'parameters' (repeatable)")
    p.add_argument("--name", help="run name")
    p.add_argument("--experiment", help="experiment (default: the notebook's file name)")
    p.add_argument("--allow-errors", action="store_true", help="keep going after a failing cell")
    p.add_argument("--kernel", help="kernel name (default: the notebook's)")
    p.add_argument("-o", "--output", help="write the executed notebook here")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("runs", parents=[common], help="list runs")
    p.add_argument("--experiment", help="only this experiment")
    p.add_argument("--filter", help="filter expression, e.g. \"metrics.acc > 0.9 AND params.model = 'rf'\"")
    p.add_argument("--order-by", action="append", help="e.g. 'metrics.acc DESC' (repeatable)")
    p.add_argument("--max-results", type=int, default=None, help="at most this many runs")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("--deleted", action="store_true", help="include deleted runs and the runs of deleted experiments")

    p = sub.add_parser("show", parents=[common], help="show one run (a unique id prefix will do)")
    p.add_argument("run")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("export", parents=[common], help="export a run as a script, a notebook or a bundle (.zip)")
    p.add_argument("run")
    p.add_argument("-f", "--format", choices=["script", "notebook", "bundle"], default="script")
    p.add_argument("-o", "--output", help="file to write (default: <run name>-<id>.py|.ipynb|.zip here)")
    p.add_argument("--slice", metavar="VAR", help="only the cells needed to rebuild VAR (script, notebook)")
    p.add_argument("--no-verify", action="store_true", help="with --slice: skip replaying the slice to check it")

    p = sub.add_parser("replay", parents=[common], help="re-execute a run in a fresh kernel and check its state cell by cell")
    p.add_argument("run", nargs="?", help="run id (a unique prefix will do)")
    p.add_argument("--bundle", metavar="FILE", help="replay a bundle from `nbtrack export --format bundle` instead")
    p.add_argument("--json", action="store_true", help="machine-readable report")
    p.add_argument("--kernel", help="kernel name (default: python3)")
    p.add_argument("--until", type=int, metavar="INDEX", help="stop after the cell at this index")
    p.add_argument("--use-snapshot", action="store_true", help="run against the recorded versions of local files")

    p = sub.add_parser("mlflow-export", parents=[common], help="push runs into an MLflow tracking store or server")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run ids (unique prefixes will do)")
    p.add_argument("--tracking-uri", required=True, help="MLflow tracking URI, e.g. sqlite:///mlflow.db or http://host:5000")
    p.add_argument("--experiment", help="MLflow experiment (default: each run's own experiment name)")

    p = sub.add_parser("mlflow-import", parents=[common], help="bring MLflow runs into nbtrack (skips runs imported before)")
    p.add_argument("--tracking-uri", required=True, help="MLflow tracking URI, e.g. sqlite:///mlflow.db or http://host:5000")
    p.add_argument("--experiment", help="only this MLflow experiment (default: all)")

    p = sub.add_parser("doctor", parents=[common], help="check the store's integrity; --repair fixes what can be fixed")
    p.add_argument("--repair", action="store_true", help="mark dead runs killed, recompute metric summaries, remove stale temporary files, migrate an old schema")
    p.add_argument("--json", action="store_true", help="machine-readable report")

    from .cli_manage import add_commands

    add_commands(sub, common, COMMANDS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except NbtrackError as exc:
        print(f"nbtrack: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nbtrack: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
