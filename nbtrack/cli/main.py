"""The ``nbtrack`` command line. Every command takes ``--store``, before or after the command
(default: NBTRACK_STORE or ./.nbtrack); commands that only read or edit runs never create a store."""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from nbtrack.cli.manage import add_commands
from nbtrack.cli.runs import COLUMNS_HELP
from nbtrack.errors import NbtrackError, ValidationError

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    COMMANDS[fn.__name__.removeprefix("cmd_").replace("_", "-")] = fn
    return fn


def _store(args: argparse.Namespace, create: bool = False) -> Any:
    from nbtrack.store import open_store

    return open_store(args.store, create=create)


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


# -- commands -------------------------------------------------------------------------------
@command
def cmd_run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from nbtrack.reproduce.execute import run_notebook
    from nbtrack.store import resolve_url
    from nbtrack.validation import parse_assignment

    params = dict(parse_assignment("-p", p) for p in args.param)
    from nbtrack.reproduce.notebook_format import import_nbformat

    nbformat = import_nbformat()

    try:
        total = sum(c.cell_type == "code" for c in nbformat.read(args.notebook, as_version=4).cells)
    except Exception:
        total = None
    bar = tqdm(
        total=total, desc=args.notebook, unit="cell", file=sys.stderr, disable=args.quiet or None
    )

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
    import shutil

    from nbtrack.cli.runs import parse_columns, print_table, write_csv
    from nbtrack.query.runs import run_record
    from nbtrack.query.search import search_run_ids

    columns = parse_columns(args.columns) if args.columns else None
    if columns is not None and args.format == "json":
        raise ValidationError(
            "--columns works with --format table or csv (json holds every column)"
        )
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
        write_csv(records, columns)
    else:
        print_table(records, columns, shutil.get_terminal_size().columns)
    return 0


def _fmt(value: Any) -> str:
    from nbtrack.query.jsonsafe import number_text

    if isinstance(value, float):
        return number_text(value)
    return "" if value is None else str(value)


@command
def cmd_show(args: argparse.Namespace) -> int:
    from nbtrack.query.runs import run_detail

    store = _store(args)
    if args.metric:
        return _show_metric(store, args)
    if args.max_points is not None:
        raise ValidationError("--max-points goes with --metric KEY")
    store.detect_killed()  # a run whose process died shows as killed, as in `nbtrack runs`
    record = run_detail(store, store.resolve_run_id(args.run))
    if args.json:
        _print_json(record)
        return 0
    print(
        f"run {record['id']}  {record['name']}  [{record['status']}]  experiment {record['experiment']}"
    )
    print(f"  started {record['start_time']}  ended {record['end_time'] or '-'}")
    if record["failure"]:
        print(failure_text(record["failure"]))
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
            print(
                f"  {k} = {_fmt(m['latest'])} / {_fmt(m['min'])} / {_fmt(m['max'])}  ({m['count']})"
            )
    if record["artifacts"]:
        print("artifacts:")
        for a in record["artifacts"]:
            print(f"  {a['path']} ({a['size']} bytes)")
    if record["models"]:
        print("models (load with the line below each):")
        for m in record["models"]:
            versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
            print(f"  {m['name']}  {m['flavor']}  {m['class']}  ({versions})")
            print(f"    {m['snippet']}")
    if record["datasets"]:
        print("datasets:")
        for d in record["datasets"]:
            print(f"  {_dataset_line(d)}")
    if record["cells"]:
        print(f"cells ({len(record['cells'])} executed, * = in the run):")
        for c in record["cells"]:
            first = next((ln for ln in c["source"].splitlines() if ln.strip()), "")
            mark = "*" if c["in_run"] else " "
            status = "" if c["status"] == "ok" else f"  !! {c['error']['type']}"
            print(f" {mark}{c['index']:>4} [{c['execution_count']}] {first[:70]}{status}")
    print(next_steps(record), file=sys.stderr)
    return 0


def failure_text(failure: dict[str, Any]) -> str:
    """``Failed: ValueError: message at line 3 of cell [11]: x = 1 / 0`` (as much as is known)."""
    message = " ".join(str(failure["message"] or "").split())
    message = message if len(message) <= 200 else message[:199] + "…"
    text = f"Failed: {failure['type']}: {message}" if message else f"Failed: {failure['type']}"
    if failure["lineno"] is not None:
        text += f" at line {failure['lineno']}"
        if failure["execution_count"] is not None:
            text += f" of cell [{failure['execution_count']}]"
    if failure["line"]:
        text += f": {failure['line']}"
    return text


def _dataset_line(d: dict[str, Any]) -> str:
    """``name [context]  digest  what it holds`` of a dataset in ``nbtrack show``."""
    context = f" [{d['context']}]" if d["context"] else ""
    schema = d["schema"]
    if isinstance(schema, list):
        what = f"{d['rows']} rows x {len(schema)} columns"
    elif isinstance(schema, dict) and "shape" in schema:
        what = f"array {'x'.join(map(str, schema['shape']))} {schema.get('dtype', '')}".rstrip()
    else:
        what = d["source"] or d["kind"]
    return f"{d['name']}{context}  {d['digest'][:12]}  {what}"


def _show_metric(store: Any, args: argparse.Namespace) -> int:
    """One metric's history, downsampled as the sidebar and the chart widgets downsample it."""
    from nbtrack.query.series import metric_series

    if args.max_points is not None and args.max_points < 10:
        raise ValidationError(f"--max-points must be at least 10, got {args.max_points}")
    series = metric_series(store, args.run, args.metric, args.max_points)
    if args.json:
        _print_json(series)
        return 0
    shown = f", {len(series['points'])} shown (downsampled)" if series["downsampled"] else ""
    print(f"run {series['run_id']}  metric {series['key']}: {series['total']} points{shown}")
    print("step\tvalue")
    for p in series["points"]:
        print(f"{p['step']}\t{_fmt(p['value'])}")
    return 0


def next_steps(record: dict[str, Any]) -> str:
    """What one usually does after looking at a run, as commands to copy."""
    rid = record["id"][:8]
    steps = [f"nbtrack replay {rid}", f"nbtrack export {rid} -f script"] if record["cells"] else []
    steps.append(f"nbtrack compare {rid} OTHER_RUN")
    return "next: " + " · ".join(steps)


@command
def cmd_export(args: argparse.Namespace) -> int:
    from nbtrack.cli.manage import print_contents
    from nbtrack.reproduce.export import export_run

    if args.no_tracking and args.track_all:
        raise ValidationError("--no-tracking and --track-all contradict each other: choose one")
    store = _store(args)

    def on_slice(sl: Any) -> None:
        if sl.verified is not False:
            print(sl.describe(), file=sys.stderr)

    path = export_run(
        store,
        store.resolve_run_id(args.run),
        args.format,
        args.output,
        args.slice,
        verify=not args.no_verify,
        on_slice=on_slice,
        tracking="none" if args.no_tracking else "all" if args.track_all else "run",
        as_recorded=args.as_recorded,
        on_contents=print_contents,
    )
    print(path)
    return 0


@command
def cmd_replay(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from nbtrack.reproduce.replay import replay_run

    bar: Any = None

    def notify(kind: str, payload: Any) -> None:
        nonlocal bar
        if kind == "env":
            _env_progress(payload)
        elif kind == "environment" and not args.verbose:
            print(f"environment differs from the recording: {payload[0]}", file=sys.stderr)
            for line in payload[1:]:
                print(f"  {line}", file=sys.stderr)
        elif kind == "environment_all" and args.verbose:
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

    if args.bundle and args.env == "recorded":
        raise NbtrackError("--env recorded replays a stored run; a --bundle replays here")
    if args.bundle:
        from nbtrack.reproduce.replay import replay_bundle
        from nbtrack.store import open_store

        report = replay_bundle(
            args.bundle,
            open_store(args.store),
            kernel_name=args.kernel,
            until=args.until,
            notify=notify,
        )
    elif args.run:
        report = replay_run(
            args.run,
            _store(args),
            kernel_name=args.kernel,
            until=args.until,
            use_snapshot=args.use_snapshot,
            notify=notify,
            env=args.env,
        )
    else:
        raise NbtrackError("name a RUN to replay, or give --bundle FILE")
    if bar is not None:
        bar.close()
    if args.json:
        _print_json(report.to_json())
    else:
        print("\n".join(report.lines()))
    return 0 if report.reproduced else 1


def _env_progress(event: dict[str, Any]) -> None:
    """One stderr line per step of recreating an environment (``nbtrack replay --env recorded``)."""
    if event["phase"] == "install" and 0 < event["done"] < event["total"]:
        print(f"  [{event['done']}/{event['total']}] {event['text']}", file=sys.stderr)
    elif event["done"] or event["phase"] in ("resolve", "create"):
        print(f"environment: {event['text']}", file=sys.stderr)


@command
def cmd_mlflow_export(args: argparse.Namespace) -> int:
    from nbtrack.interop.mlflow_export import export_runs
    from nbtrack.store import mask_url

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
    from nbtrack.interop.mlflow_import import import_runs
    from nbtrack.store import mask_url

    def notify(r: Any) -> None:
        what = {
            "imported": "imported as",
            "skipped": "already imported as",
            "exported": "exported from",
        }[r.action]
        print(f"MLflow run {r.mlflow_run_id} ({r.experiment}/{r.name}) {what} {r.run_id[:8]}")

    results = import_runs(
        _store(args, create=True), args.tracking_uri, args.experiment, notify=notify
    )
    n = sum(r.action == "imported" for r in results)
    print(
        f"imported {n} of {len(results)} run(s) from {mask_url(args.tracking_uri)}", file=sys.stderr
    )
    return 0


@command
def cmd_doctor(args: argparse.Namespace) -> int:
    from nbtrack.lifecycle.doctor import doctor, salvage

    if args.salvage:
        report = salvage(args.store, args.salvage)
        print(
            f"salvaged into {report.store}: what was readable is there, the damaged store is untouched"
        )
    else:
        report = doctor(args.store, repair=args.repair)
    if args.json:
        _print_json(report.to_json())
    else:
        print("\n".join(report.lines()))
    return 0 if report.healthy else 1


# -- parser ---------------------------------------------------------------------------------
STORE_HELP = (
    "store directory or URL, before or after the command (default: $NBTRACK_STORE, else ./.nbtrack); "
    "commands that only read never create one"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nbtrack", description="Notebook-native experiment tracking.", allow_abbrev=False
    )  # so the command is the first word after the options
    parser.add_argument(
        "--version", action="version", version=f"nbtrack {__import__('nbtrack').__version__}"
    )
    parser.add_argument("--store", help=STORE_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # --store after the command too; SUPPRESS keeps one given before it when it is not repeated
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", default=argparse.SUPPRESS, help=STORE_HELP)

    p = sub.add_parser(
        "run", parents=[common], help="execute a notebook in a fresh kernel as one tracked run"
    )
    p.add_argument("notebook")
    p.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="parameter, logged and assigned after the cell tagged 'parameters' (repeatable)",
    )
    p.add_argument("--name", help="run name")
    p.add_argument("--experiment", help="experiment (default: the notebook's file name)")
    p.add_argument("--allow-errors", action="store_true", help="keep going after a failing cell")
    p.add_argument("--kernel", help="kernel name (default: the notebook's)")
    p.add_argument("-o", "--output", help="write the executed notebook here")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("runs", parents=[common], help="list runs")
    p.add_argument("--experiment", help="only this experiment")
    p.add_argument(
        "--filter",
        help="filter expression, e.g. \"metrics.acc > 0.9 AND params.model = 'rf'\"; plain words "
        'search run names (sgd, "sgd AND metrics.acc > 0.9")',
    )
    p.add_argument("--order-by", action="append", help="e.g. 'metrics.acc DESC' (repeatable)")
    p.add_argument("--max-results", type=int, default=None, help="at most this many runs")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("--columns", action="append", metavar="COLUMNS", help=COLUMNS_HELP)
    p.add_argument(
        "--deleted",
        action="store_true",
        help="include deleted runs and the runs of deleted experiments",
    )

    p = sub.add_parser("show", parents=[common], help="show one run (a unique id prefix will do)")
    p.add_argument("run")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--metric", metavar="KEY", help="show this metric's history (step, value) instead"
    )
    p.add_argument(
        "--max-points",
        type=int,
        metavar="N",
        help="with --metric: at most N points, downsampled as the charts draw them (keeps extremes)",
    )

    p = sub.add_parser(
        "export", parents=[common], help="export a run as a script, a notebook or a bundle (.zip)"
    )
    p.add_argument("run")
    p.add_argument("-f", "--format", choices=["script", "notebook", "bundle"], default="script")
    p.add_argument(
        "-o", "--output", help="file to write (default: <run name>-<id>.py|.ipynb|.zip here)"
    )
    p.add_argument(
        "--slice", metavar="VAR", help="only the cells needed to rebuild VAR (script, notebook)"
    )
    p.add_argument(
        "--no-verify",
        action="store_true",
        help="with --slice: skip replaying the slice to check it",
    )
    p.add_argument(
        "--no-tracking",
        action="store_true",
        help="keep the bodies of %%%%track cells but start no runs (the export records nothing)",
    )
    p.add_argument(
        "--track-all",
        action="store_true",
        help="%%%%track cells of other runs start their runs too (default: only this run's)",
    )
    p.add_argument(
        "--as-recorded",
        action="store_true",
        help="notebook: the notebook file as it was when the run was recorded, its cells marked",
    )

    p = sub.add_parser(
        "replay",
        parents=[common],
        help="re-execute a run in a fresh kernel and check its state cell by cell",
    )
    p.add_argument("run", nargs="?", help="run id (a unique prefix will do)")
    p.add_argument(
        "--bundle",
        metavar="FILE",
        help="replay a bundle from `nbtrack export --format bundle` instead",
    )
    p.add_argument("--json", action="store_true", help="machine-readable report")
    p.add_argument("--kernel", help="kernel name (default: python3)")
    p.add_argument("--until", type=int, metavar="INDEX", help="stop after the cell at this index")
    p.add_argument(
        "--use-snapshot",
        action="store_true",
        help="run against the recorded versions of local files",
    )
    p.add_argument(
        "--env",
        choices=["current", "recorded"],
        default="current",
        help="recorded: replay in a virtual environment recreated with the run's recorded "
        "package versions (cached; default: current)",
    )
    p.add_argument("--verbose", action="store_true", help="list every environment difference")

    p = sub.add_parser(
        "mlflow-export", parents=[common], help="push runs into an MLflow tracking store or server"
    )
    p.add_argument("runs", nargs="+", metavar="RUN", help="run ids (unique prefixes will do)")
    p.add_argument(
        "--tracking-uri",
        required=True,
        help="MLflow tracking URI, e.g. sqlite:///mlflow.db or http://host:5000",
    )
    p.add_argument(
        "--experiment", help="MLflow experiment (default: each run's own experiment name)"
    )

    p = sub.add_parser(
        "mlflow-import",
        parents=[common],
        help="bring MLflow runs into nbtrack (skips runs imported before)",
    )
    p.add_argument(
        "--tracking-uri",
        required=True,
        help="MLflow tracking URI, e.g. sqlite:///mlflow.db or http://host:5000",
    )
    p.add_argument("--experiment", help="only this MLflow experiment (default: all)")

    p = sub.add_parser(
        "doctor",
        parents=[common],
        help="check the store's integrity; --repair fixes what can be fixed",
    )
    p.add_argument(
        "--repair",
        action="store_true",
        help="mark dead runs killed, recompute metric summaries, remove stale temporary files, migrate an old schema",
    )
    p.add_argument(
        "--salvage",
        metavar="NEW_FOLDER",
        help="rebuild a damaged SQLite store (truncated, byte-flipped) into a new store from what is readable",
    )
    p.add_argument("--json", action="store_true", help="machine-readable report")

    add_commands(sub, common, COMMANDS)
    return parser


def command_word(argv: Sequence[str]) -> str | None:
    """The command in ``argv``: its first word that is neither an option nor --store's value."""
    words = iter(argv)
    for word in words:
        if word == "--":
            return next(words, None)
        if word == "--store":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    word = command_word(argv)
    if word is not None and word not in COMMANDS:
        close = difflib.get_close_matches(word, COMMANDS, n=1)
        guess = f"; did you mean {close[0]!r}?" if close else ""
        parser.error(f"unknown command {word!r}{guess} (nbtrack --help lists the commands)")
    args = parser.parse_args(argv)
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
