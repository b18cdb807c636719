"""The URL table of ``/nbtrack/api/`` and the state the handlers share."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from jupyter_server.utils import url_path_join

from nbtrack.server.config import NbtrackConfig
from nbtrack.server.filters import FilterCheckHandler
from nbtrack.server.handlers import (
    RUN_ID,
    ArtifactHandler,
    CompareHandler,
    ExperimentsHandler,
    MetricHandler,
    RecordedNotebookHandler,
    RestoreHandler,
    RunHandler,
    RunsHandler,
    TagsHandler,
)
from nbtrack.server.jobs import ExportHandler, ReplayHandler
from nbtrack.server.runsview import (
    BestValuesHandler,
    BulkHandler,
    KeysHandler,
    RunsCsvHandler,
    RunsTableHandler,
)

NAMESPACE = "nbtrack/api"

ROUTES: list[tuple[str, type]] = [
    ("runs", RunsHandler),
    ("runs/table", RunsTableHandler),
    ("runs/table/best", BestValuesHandler),
    ("runs/table/csv", RunsCsvHandler),
    ("runs/bulk", BulkHandler),
    ("keys", KeysHandler),
    ("filter/check", FilterCheckHandler),
    (f"runs/{RUN_ID}", RunHandler),
    (f"runs/{RUN_ID}/restore", RestoreHandler),
    (f"runs/{RUN_ID}/tags", TagsHandler),
    (f"runs/{RUN_ID}/metrics", MetricHandler),
    (f"runs/{RUN_ID}/artifact", ArtifactHandler),
    (f"runs/{RUN_ID}/replay", ReplayHandler),
    (f"runs/{RUN_ID}/export", ExportHandler),
    (f"runs/{RUN_ID}/notebook-as-recorded", RecordedNotebookHandler),
    ("experiments", ExperimentsHandler),
    ("compare", CompareHandler),
]


def setup_routes(web_app: Any, config: NbtrackConfig, root_dir: str) -> None:
    base = web_app.settings["base_url"]
    web_app.settings["nbtrack"] = {
        "config": config,
        "root_dir": root_dir,
        "executor": ThreadPoolExecutor(
            max_workers=config.workers, thread_name_prefix="nbtrack-api"
        ),
    }
    handlers = [(url_path_join(base, NAMESPACE, path) + "/?$", cls) for path, cls in ROUTES]
    web_app.add_handlers(".*$", handlers)
