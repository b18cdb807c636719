"""The arguments of ``%%track``, in one place: the magic parses its line with them, and an
export turns the same line into a ``start_run(...)`` call (``nbtrack.reproduce.script``)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments

from nbtrack.validation import parse_assignment

ARGUMENTS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (("--name", "-n"), {"help": "run name"}),
    (("--experiment", "-e"), {"help": "experiment name (default: the notebook's name)"}),
    (
        ("--param", "-p"),
        {"action": "append", "default": [], "metavar": "KEY=VALUE", "help": "a param (repeatable)"},
    ),
    (
        ("--tag", "-t"),
        {"action": "append", "default": [], "metavar": "KEY=VALUE", "help": "a tag (repeatable)"},
    ),
    (
        ("--live",),
        {
            "action": "store_true",
            "help": "show a chart of the run's metrics that updates while the cell runs",
        },
    ),
    (
        ("--autolog",),
        {
            "action": "store_true",
            "help": "log the cell's scikit-learn, XGBoost and LightGBM fits (nbtrack.autolog())",
        },
    ),
    (
        ("--no-system-metrics",),
        {"action": "store_true", "help": "do not sample CPU/memory/GPU while the cell runs"},
    ),
    (
        ("--quiet", "-q"),
        {
            "action": "store_true",
            "help": "no line saying how the run ended (or NBTRACK_RUN_SUMMARY=off for all runs)",
        },
    ),
)


def track_arguments(func: Any) -> Any:
    """``@magic_arguments()`` with ``%%track``'s ``@argument``s, for the magic itself."""
    for flags, options in reversed(ARGUMENTS):
        func = argument(*flags, **options)(func)
    return magic_arguments()(func)


@track_arguments
def track(line: str, cell: str) -> None:
    """The magic's signature, holding its parser (``track.parser``)."""


def split_line(line: str) -> list[str]:
    """The words of a ``%%track`` line as a shell splits them, quotes removed (``--param
    msg='a b'``, ``--name "my run"``), but backslashes kept as written (``path=C:\\data``).
    IPython's own split keeps quotes that do not start a word."""
    lexer = shlex.shlex(line, posix=True)
    lexer.whitespace_split = True
    lexer.escape = ""
    lexer.commenters = ""
    return list(lexer)


@dataclass(frozen=True)
class TrackLine:
    """A ``%%track`` line, parsed."""

    name: str | None
    experiment: str | None
    params: dict[str, str]
    tags: dict[str, str]
    live: bool
    system_metrics: bool
    autolog: bool = False
    quiet: bool = False


def parse_track_line(line: str) -> TrackLine:
    """The ``%%track`` arguments in ``line`` (what follows ``%%track``), parsed as the magic
    parses them; a bad line raises ``UsageError`` (or ``ValidationError`` for a bad KEY=VALUE)."""
    try:
        args = track.parser.parse_args(split_line(line))
    except ValueError as exc:  # shlex: an unbalanced quote
        raise UsageError(f"{exc} in the arguments {line!r}") from None
    return TrackLine(
        name=args.name,
        experiment=args.experiment,
        params=dict(parse_assignment("--param", p) for p in args.param),
        tags=dict(parse_assignment("--tag", t) for t in args.tag),
        live=bool(args.live),
        system_metrics=not args.no_system_metrics,
        autolog=bool(args.autolog),
        quiet=bool(args.quiet),
    )
