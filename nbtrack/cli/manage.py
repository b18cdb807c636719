"""The commands that manage what is recorded: experiments, rename / tag / notes / move,
delete / restore / gc, compare, and export-runs / import-runs. ``nbtrack.cli.main`` adds them
to its parser with :func:`add_commands`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from nbtrack.errors import ValidationError

Command = Callable[[argparse.Namespace], int]


def _store(args: argparse.Namespace, create: bool = False) -> Any:
    """The store of ``--store``; only commands that record something may create it."""
    from nbtrack.store import open_store

    return open_store(args.store, create=create)


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def _done(verb: str, ids: list[str], dry_run: bool = False) -> int:
    if dry_run:
        verb = f"would be {verb}"
    for rid in ids:
        print(rid)
    print(f"{len(ids)} run(s) {verb}", file=sys.stderr)
    return 0


# -- experiments ----------------------------------------------------------------------------
def cmd_experiment(args: argparse.Namespace) -> int:
    from nbtrack.lifecycle import experiments as ex
    from nbtrack.query.runs import iso

    action = args.action or "list"
    st = _store(args, create=action == "create")
    if action == "list":
        rows = ex.list_experiments(include_deleted=args.deleted, store=st)
        if args.json:
            _print_json(
                {
                    "experiments": [
                        {
                            **r,
                            "created": iso(r["created"]),
                            "last_start": iso(r["last_start"]),
                            "deleted_at": iso(r["deleted_at"]),
                        }
                        for r in rows
                    ]
                }
            )
            return 0
        if not rows:
            print("no experiments")
            return 0
        width = max(10, *(len(r["name"]) for r in rows))
        print(f"{'experiment'.ljust(width)}  runs  deleted runs  last run")
        for r in rows:
            last = (iso(r["last_start"]) or "-")[:19].replace("T", " ")
            mark = "  (deleted)" if r["deleted_at"] is not None else ""
            print(
                f"{r['name'].ljust(width)}  {r['runs']:>4}  {r['deleted_runs']:>12}  {last}{mark}"
            )
        return 0
    if action == "create":
        print(ex.create_experiment(args.name, store=st))
    elif action == "rename":
        print(ex.rename_experiment(args.name, args.new_name, store=st))
    elif action == "delete":
        print(ex.delete_experiment(args.name, store=st))
    elif action == "restore":
        print(ex.restore_experiment(args.name, store=st))
    return 0


# -- run edits ------------------------------------------------------------------------------
def cmd_rename(args: argparse.Namespace) -> int:
    from nbtrack.lifecycle.edits import rename_run

    print(rename_run(args.run, args.name, store=_store(args)))
    return 0


def cmd_tag(args: argparse.Namespace) -> int:
    from nbtrack.lifecycle.edits import delete_run_tag, set_run_tags
    from nbtrack.validation import parse_assignment

    if not args.tags and not args.delete:
        raise ValidationError("give tags as KEY=VALUE and/or --delete KEY")
    st = _store(args)
    rid = st.resolve_run_id(args.run)
    if args.tags:
        set_run_tags(rid, dict(parse_assignment("tag", t) for t in args.tags), store=st)
    for key in args.delete:
        delete_run_tag(rid, key, store=st)
    print(rid)
    return 0


def cmd_notes(args: argparse.Namespace) -> int:
    from nbtrack.lifecycle.edits import set_run_notes

    st = _store(args)
    if args.file is not None:
        text = sys.stdin.read() if args.file == "-" else open(args.file, encoding="utf-8").read()
    elif args.text is not None:
        text = args.text
    elif args.clear:
        text = ""
    else:  # no new text: show the notes
        rid = st.resolve_run_id(args.run)
        print(st.run_summaries([rid])[0].get("notes") or "", end="")
        return 0
    print(set_run_notes(args.run, text, store=st))
    return 0


def cmd_move(args: argparse.Namespace) -> int:
    from nbtrack.lifecycle.edits import move_run

    st = _store(args)
    return _done(f"moved to {args.to}", [move_run(r, args.to, store=st) for r in args.runs])


def cmd_delete(args: argparse.Namespace) -> int:
    from nbtrack.lifecycle.edits import delete_runs

    ids = delete_runs(
        args.runs,
        experiment=args.experiment,
        filter_string=args.filter,
        before=args.before,
        max_runs=args.max_runs,
        dry_run=args.dry_run,
        store=_store(args),
    )
    return _done(
        "deleted (restore with nbtrack restore)" if not args.dry_run else "deleted",
        ids,
        args.dry_run,
    )


def cmd_restore(args: argparse.Namespace) -> int:
    from nbtrack.lifecycle.edits import restore_runs

    ids = restore_runs(
        args.runs,
        experiment=args.experiment,
        filter_string=args.filter,
        deleted_since=args.since,
        max_runs=args.max_runs,
        dry_run=args.dry_run,
        store=_store(args),
    )
    return _done("restored", ids, args.dry_run)


def cmd_gc(args: argparse.Namespace) -> int:
    from nbtrack.lifecycle.gc import gc

    report = gc(args.older_than, dry_run=args.dry_run, grace=args.grace, store=_store(args))
    if args.json:
        _print_json(report.to_json())
    else:
        print("\n".join(report.lines()))
    return 0


# -- compare and bundles --------------------------------------------------------------------
def cmd_compare(args: argparse.Namespace) -> int:
    from nbtrack.query.compare import compare_runs, comparison_lines

    data = compare_runs(args.runs, all_rows=args.all, store=_store(args))
    if args.json:
        _print_json(data)
    else:
        print("\n".join(comparison_lines(data)))
    return 0


def print_contents(contents: list[dict[str, Any]]) -> None:
    """What an export holds, on stderr, before it is written: a snapshot's ``.env`` shows."""
    total = sum(c["size"] for c in contents)
    print(f"contents ({len(contents)} members, {total:,} bytes):", file=sys.stderr)
    for c in contents:
        what = c["what"] if c["name"].startswith("blobs/") else f"{c['name']}: {c['what']}"
        print(f"  {c['size']:>12,}  {what}", file=sys.stderr)


def cmd_export_runs(args: argparse.Namespace) -> int:
    from nbtrack.lifecycle.transfer import export_runs

    manifest = export_runs(
        args.output,
        args.runs,
        filter_string=args.filter,
        experiment_names=args.experiment,
        store=_store(args),
        on_contents=print_contents,
    )
    print(args.output)
    print(
        f"exported {len(manifest['run_ids'])} run(s), {len(manifest['blobs'])} blob(s)",
        file=sys.stderr,
    )
    return 0


def cmd_import_runs(args: argparse.Namespace) -> int:
    from nbtrack.lifecycle.transfer import import_runs

    report = import_runs(args.bundle, store=_store(args, create=True))
    if args.json:
        _print_json(report.to_json())
        return 0
    for rid in report.runs:
        print(rid)
    skipped = f", skipped {len(report.skipped)} already in the store" if report.skipped else ""
    print(f"imported {len(report.runs)} run(s){skipped}", file=sys.stderr)
    return 0


COMMANDS: dict[str, Command] = {
    "experiment": cmd_experiment,
    "experiments": cmd_experiment,
    "rename": cmd_rename,
    "tag": cmd_tag,
    "notes": cmd_notes,
    "move": cmd_move,
    "delete": cmd_delete,
    "restore": cmd_restore,
    "gc": cmd_gc,
    "compare": cmd_compare,
    "export-runs": cmd_export_runs,
    "import-runs": cmd_import_runs,
}


# -- parser ---------------------------------------------------------------------------------
def add_commands(sub: Any, common: argparse.ArgumentParser, registry: dict[str, Command]) -> None:
    """Add these commands' parsers to ``sub`` and their functions to ``registry``."""
    registry.update(COMMANDS)

    p = sub.add_parser(
        "experiment",
        aliases=["experiments"],
        parents=[common],
        help="list, create, rename, delete or restore experiments",
    )
    p.add_argument("--deleted", action="store_true", help="list: deleted experiments too")
    p.add_argument("--json", action="store_true", help="list: machine-readable output")
    # options may come after the action too (common's --store defaults to SUPPRESS as these do)
    acts = p.add_subparsers(dest="action")
    a = acts.add_parser(
        "list", parents=[common], help="experiments with their run counts (the default)"
    )
    a.add_argument(
        "--deleted", action="store_true", default=argparse.SUPPRESS, help="deleted experiments too"
    )
    a.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    acts.add_parser("create", parents=[common], help="create an empty experiment").add_argument(
        "name"
    )
    a = acts.add_parser("rename", parents=[common], help="rename an experiment")
    a.add_argument("name")
    a.add_argument("new_name")
    acts.add_parser(
        "delete", parents=[common], help="delete an experiment (its runs are hidden; restorable)"
    ).add_argument("name")
    acts.add_parser("restore", parents=[common], help="restore a deleted experiment").add_argument(
        "name"
    )

    p = sub.add_parser("rename", parents=[common], help="rename a run")
    p.add_argument("run")
    p.add_argument("name")

    p = sub.add_parser("tag", parents=[common], help="set or delete tags of a run")
    p.add_argument("run")
    p.add_argument("tags", nargs="*", metavar="KEY=VALUE")
    p.add_argument(
        "--delete", action="append", default=[], metavar="KEY", help="remove this tag (repeatable)"
    )

    p = sub.add_parser("notes", parents=[common], help="show or set a run's notes (markdown)")
    p.add_argument("run")
    p.add_argument("text", nargs="?", help="the new notes (omit to show the current ones)")
    p.add_argument("-f", "--file", help="read the notes from this file ('-': standard input)")
    p.add_argument("--clear", action="store_true", help="remove the notes")

    p = sub.add_parser("move", parents=[common], help="move runs to another experiment")
    p.add_argument("runs", nargs="+", metavar="RUN")
    p.add_argument("--to", required=True, metavar="EXPERIMENT", help="an existing experiment")

    for name, verb in (("delete", "delete"), ("restore", "restore")):
        p = sub.add_parser(
            name,
            parents=[common],
            help=f"{verb} runs (soft: deleted runs can be restored until gc)",
        )
        p.add_argument("runs", nargs="*", metavar="RUN", help="run ids (unique prefixes will do)")
        p.add_argument("--experiment", help="select the runs of this experiment")
        p.add_argument("--filter", help="select the runs matching this filter expression")
        if name == "delete":
            p.add_argument(
                "--before",
                metavar="TIME",
                help="select runs started at or before TIME (ISO date/time or UNIX seconds)",
            )
        else:
            p.add_argument(
                "--since",
                metavar="TIME",
                help="select runs deleted at or after TIME (ISO date/time or UNIX seconds)",
            )
        p.add_argument(
            "--max-runs",
            type=int,
            metavar="N",
            help=f"{verb} at most N of the selected runs, the {'oldest' if name == 'delete' else 'most recently deleted'} first",
        )
        p.add_argument("--dry-run", action="store_true", help=f"list the runs, {verb} nothing")

    p = sub.add_parser(
        "gc", parents=[common], help="purge deleted runs for good and remove unreferenced blobs"
    )
    p.add_argument(
        "--older-than",
        metavar="AGE",
        help="only runs deleted at least AGE ago, e.g. 30d, 12h, 1d2h30m",
    )
    p.add_argument(
        "--grace",
        default="1h",
        metavar="AGE",
        help="keep unreferenced blobs written within AGE (a run being recorded may not refer to them yet; default 1h)",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="report what would be freed, free nothing"
    )
    p.add_argument("--json", action="store_true", help="machine-readable report")

    p = sub.add_parser(
        "compare", parents=[common], help="params, metrics, tags and code of runs side by side"
    )
    p.add_argument(
        "runs", nargs="+", metavar="RUN", help="two or more run ids (unique prefixes will do)"
    )
    p.add_argument("--all", action="store_true", help="also show rows identical across the runs")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser(
        "export-runs",
        parents=[common],
        help="write many runs (with cells and blobs) to one portable .zip",
    )
    p.add_argument(
        "runs", nargs="*", metavar="RUN", help="run ids (default: every run the filter selects)"
    )
    p.add_argument("--filter", help="filter expression selecting the runs")
    p.add_argument(
        "--experiment", action="append", help="only runs of this experiment (repeatable)"
    )
    p.add_argument("-o", "--output", required=True, help="the bundle to write (.zip)")

    p = sub.add_parser(
        "import-runs",
        parents=[common],
        help="add the runs of an export-runs bundle (runs already there are skipped)",
    )
    p.add_argument("bundle")
    p.add_argument("--json", action="store_true", help="machine-readable report")
