"""Schema 6's covering index on PostgreSQL's tags (run_id, key) INCLUDE (value), measured on a
loaded database (``bench_million.py --pg-build``): the searches of ``bench_million.py`` with
the index dropped and made again in turn, ``--rounds`` times, each after ``VACUUM (ANALYZE)``.

    python bench/probe_tags_index.py --pg-json /tmp/nbtrack-bench-million/pg.json

Prints each round's medians; writes nothing. It leaves the index in place.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    import psycopg
    from bench_million import timings

    from nbtrack.query.runs import page_of_runs
    from nbtrack.query.search import search_run_ids
    from nbtrack.store import Store
    from nbtrack.store import schema as s

    ap = argparse.ArgumentParser()
    ap.add_argument("--pg-json", type=Path, default=Path("/tmp/nbtrack-bench-million/pg.json"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    url = json.loads(args.pg_json.read_text())["url"]
    raw = url.replace("postgresql+psycopg://", "postgresql://")
    text = "metrics.acc > 0.5 AND params.model = 'rf' AND tags.stage LIKE 'prod%'"
    searches = {
        "filtered, metrics.acc DESC": lambda st: search_run_ids(
            st, text, order_by=["metrics.acc DESC"], max_results=1000
        ),
        "filtered, newest first": lambda st: search_run_ids(st, text, max_results=1000),
        "model = rf AND owner = anna": lambda st: search_run_ids(
            st, "params.model = 'rf' AND tags.owner = 'anna'", max_results=1000
        ),
        "sidebar page, filtered": lambda st: page_of_runs(st, filter_string=text, max_results=100),
    }

    def ddl(sql: str) -> None:
        with psycopg.connect(raw, autocommit=True) as conn:
            conn.execute(sql)
            conn.execute("VACUUM (ANALYZE) tags")

    def medians() -> dict[str, float]:
        st = Store(url)
        try:  # bench_million's timer: a first call, then the median of the next ``repeat``
            return {
                name: round(timings(lambda fn=fn: fn(st), args.repeat)[1] * 1000, 1)
                for name, fn in searches.items()
            }
        finally:
            st.close()

    Store(url).close()  # migrates an older store first
    for _ in range(args.rounds):
        ddl(f"DROP INDEX IF EXISTS {s.TAGS_COVERING_INDEX}")
        print("without", medians(), flush=True)
        ddl(s.TAGS_COVERING.statement)  # the schema's own statement
        print("with   ", medians(), flush=True)
    print("load average", os.getloadavg())


if __name__ == "__main__":
    main()
