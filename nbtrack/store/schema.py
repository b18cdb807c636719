"""The store's tables (SQLAlchemy Core), shared by the SQLite and PostgreSQL backends.

Times are UNIX seconds (float). A run's executed-cell sequence is not copied per run: a
run points at its session and the range of cell sequence numbers it spans, and its
cells are the session's cells up to ``end_seq`` (those from ``start_seq`` on are its body).
Per-cell state is stored as a diff (name -> hash, NULL hash = deleted) and folded on read.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    DDL,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    event,
)

SCHEMA_VERSION = 6  # 2: key tables without a rowid on SQLite, covering run indexes, runs.summary
# 3: runs.failure
# 4: datasets (log_input)
# 5: PostgreSQL's summary triggers once per statement (bulk loads), planner statistics
# 6: PostgreSQL: a tag's look-up by (run_id, key) reads its value from the index

metadata = MetaData()
_make_ddl: Callable[[str], DDL] = DDL  # SQLAlchemy's DDL() has no annotations

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

experiments = Table(
    "experiments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(256), nullable=False, unique=True),
    Column("created", Float, nullable=False),
    Column("deleted_at", Float),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),  # kernel | script
    Column("started", Float, nullable=False),
    Column("host", String(256)),
    Column("pid", Integer),
    Column("pid_started", Float),  # process create time, to tell a reused pid apart
    Column("user", String(256)),
    Column("cwd", Text),
    Column("env_hash", String(64)),
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("experiment_id", Integer, ForeignKey("experiments.id"), nullable=False),
    Column("name", String(256), nullable=False),
    Column("status", String(16), nullable=False),  # running | finished | failed | killed
    Column("start_time", Float, nullable=False),
    Column("end_time", Float),
    Column("user", String(256)),
    Column("session_id", String(32), ForeignKey("sessions.id")),
    Column("start_seq", Integer),
    Column("end_seq", Integer),
    Column("parent_run_id", String(32)),
    Column("replay_of", String(32)),
    Column("reproduced", Boolean),
    Column("notes", Text),
    Column("deleted_at", Float),
    Column("notebook_path", Text),
    Column("notebook_hash", String(64)),
    Column("git_commit", String(64)),
    Column("git_diff_hash", String(64)),  # NULL when the working tree is clean
    Column("env_hash", String(64)),
    Column("snapshot_hash", String(64)),  # blob: JSON {relative path: blob hash} of local code
    # JSON {"p": params, "m": latest metrics, "t": tags} of an ended run, for whole-table reads;
    # NULL: read them from their tables (triggers clear it whenever one of those rows changes)
    Column("summary", Text),
    # JSON {type, message, line, lineno, execution_count, seq} of the exception a failed run
    # ended with; NULL when it did not fail (or failed before version 3)
    Column("failure", Text),
    Index(
        "ix_runs_experiment_start", "experiment_id", "start_time", "deleted_at", "id"
    ),  # covering: counts
    Index(
        "ix_runs_start", "start_time", "id", "deleted_at", "experiment_id"
    ),  # covering: newest first
    Index("ix_runs_session", "session_id"),
    # a search's one look-up per candidate run, answered from the index alone
    Index("ix_runs_search", "id", "deleted_at", "experiment_id", "start_time"),
)

params = Table(
    "params",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("key", String(256), primary_key=True),
    Column("value", Text, nullable=False),
    Index("ix_params_key_value", "key", "value", "run_id"),  # run_id: covering for searches
    sqlite_with_rowid=False,  # a (run_id, key) lookup is one B-tree search, value included
)

tags = Table(
    "tags",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("key", String(256), primary_key=True),
    Column("value", Text, nullable=False),
    Index("ix_tags_key_value", "key", "value", "run_id"),
    sqlite_with_rowid=False,
)
# A search walking runs in order looks each candidate's tag up by (run_id, key). SQLite's table
# has no rowid, so that look-up finds the value; PostgreSQL's primary key would then read the
# table's page too (a LIKE cannot use ix_tags_key_value), at a million runs a fifth of the
# filtered search (bench/RESULTS.md, "A million runs: PostgreSQL").
TAGS_COVERING_INDEX = "ix_tags_run_key_value"
TAGS_COVERING = _make_ddl(
    f"CREATE INDEX IF NOT EXISTS {TAGS_COVERING_INDEX} ON tags (run_id, key) INCLUDE (value)"
).execute_if(dialect="postgresql")
event.listen(tags, "after_create", TAGS_COVERING)

metrics = Table(
    "metrics",
    metadata,
    Column("run_id", String(32), nullable=False),
    Column("key", String(256), nullable=False),
    Column("step", BigInteger, nullable=False),  # 64-bit: PostgreSQL's INTEGER is 32
    Column("value", Float),  # NULL stands for NaN (SQLite cannot store NaN)
    Column("timestamp", Float, nullable=False),
    Column("cell_seq", Integer),
    Index("ix_metrics_run_key_step", "run_id", "key", "step"),
)

# Kept at write time so latest/min/max queries never scan the history.
latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("key", String(256), primary_key=True),
    Column("value", Float),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", Float, nullable=False),
    Column("min_value", Float),
    Column("max_value", Float),
    Column("count", Integer, nullable=False),
    Index("ix_latest_key_value", "key", "value", "run_id"),
    Index(
        "ix_latest_key_min", "key", "min_value", "run_id"
    ),  # MIN(metrics.x) / MAX(metrics.x) filters
    Index("ix_latest_key_max", "key", "max_value", "run_id"),
    sqlite_with_rowid=False,
)

sources = Table(
    "sources",
    metadata,
    Column("hash", String(64), primary_key=True),
    Column("text", Text, nullable=False),
)

cells = Table(
    "cells",
    metadata,
    Column("session_id", String(32), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("execution_count", Integer),
    Column("cell_id", String(256)),
    Column("source_hash", String(64), nullable=False),
    Column("start_time", Float, nullable=False),
    Column("end_time", Float, nullable=False),
    Column("status", String(8), nullable=False),  # ok | error
    Column("error_type", String(256)),
    Column("error_message", Text),
    Column("created", Text),  # JSON list of names
    Column("changed", Text),
    Column("deleted", Text),
    Column("touched", Text),  # JSON list of names the code may read or write; NULL: cannot tell
    Column("notebook_path", Text),
)

cell_state = Table(
    "cell_state",
    metadata,
    Column("session_id", String(32), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("name", String(256), primary_key=True),
    Column("hash", String(300)),  # NULL: the name was deleted by this cell
)

# Files a cell read or wrote (and inputs declared with log_input), with content hashes.
file_events = Table(
    "file_events",
    metadata,
    Column("session_id", String(32), nullable=False),
    Column("seq", Integer),
    Column("run_id", String(32)),
    Column("path", Text, nullable=False),
    Column("mode", String(8), nullable=False),  # read | write | input
    Column("hash", String(64)),
    Column("size", BigInteger),
    Index("ix_file_events_session", "session_id", "seq"),
    Index("ix_file_events_run", "run_id"),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("path", String(1024), primary_key=True),
    Column("blob_hash", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("created", Float, nullable=False),
)

# Datasets a run declared with log_input, one row per (name, digest): MLflow's dataset inputs.
datasets = Table(
    "datasets",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("name", String(256), primary_key=True),
    Column("digest", String(64), primary_key=True),
    Column("context", String(256)),  # training | validation | ...; NULL: none given
    Column("kind", String(16), nullable=False),  # dataframe | array | file | other
    Column("source", Text),  # a file's path, an imported dataset's source
    Column("schema", Text),  # JSON: [{name, type}] of a table, {dtype, shape} of an array
    Column("rows", BigInteger),
    Column("created", Float, nullable=False),
    Index("ix_datasets_name", "name", "run_id"),
    Index("ix_datasets_digest", "digest", "run_id"),
)


# -- runs.summary is cleared by the engine whenever a param, tag or latest metric changes ---------
# On PostgreSQL once per statement, over the statement's rows (its transition tables): a COPY of
# 50,000 rows is one UPDATE, not 50,000. EXECUTE plans it for this statement's row count (a
# cached plan made for a bulk load would scan every run when a kernel logs one param).
_PG_FORGET = """
CREATE OR REPLACE FUNCTION nbtrack_forget_summaries() RETURNS trigger AS $$
BEGIN
    EXECUTE 'UPDATE runs SET summary = NULL WHERE summary IS NOT NULL'
        || ' AND id IN (SELECT DISTINCT run_id FROM changed_rows)';
    IF TG_OP = 'UPDATE' THEN
        EXECUTE 'UPDATE runs SET summary = NULL WHERE summary IS NOT NULL'
            || ' AND id IN (SELECT DISTINCT run_id FROM old_rows)';
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql"""
# (trigger name suffix, event, transition tables) on PostgreSQL
_PG_TRIGGERS = (
    ("", "INSERT", "NEW TABLE AS changed_rows"),
    ("_update", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS changed_rows"),
    ("_delete", "DELETE", "OLD TABLE AS changed_rows"),
)


def summary_triggers(table: Table) -> list[DDL]:
    """The statements that make any change to ``table``'s rows clear their run's summary."""
    name = table.name
    sqlite = [
        _make_ddl(
            f"CREATE TRIGGER IF NOT EXISTS forget_summary_{name}_{op.lower()} AFTER {op} ON {name} "
            f"BEGIN UPDATE runs SET summary = NULL WHERE id = {row}.run_id AND summary IS NOT NULL; END"
        ).execute_if(dialect="sqlite")
        for op, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD"))
    ]
    postgres = [_make_ddl(_PG_FORGET).execute_if(dialect="postgresql")]
    for suffix, op, transition in _PG_TRIGGERS:
        postgres += [
            _make_ddl(f"DROP TRIGGER IF EXISTS forget_summary{suffix} ON {name}").execute_if(
                dialect="postgresql"
            ),
            _make_ddl(
                f"CREATE TRIGGER forget_summary{suffix} AFTER {op} ON {name} "
                f"REFERENCING {transition} FOR EACH STATEMENT "
                "EXECUTE FUNCTION nbtrack_forget_summaries()"
            ).execute_if(dialect="postgresql"),
        ]
    return sqlite + postgres


SUMMARY_TABLES = (params, tags, latest_metrics)
for _table in SUMMARY_TABLES:
    for _ddl in summary_triggers(_table):
        event.listen(_table, "after_create", _ddl)
