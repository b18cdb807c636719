"""``GET /filter/check?filter=``: whether a filter parses, answered with 200 either way, so the
filter box shows a syntax error without a failing request (:func:`nbtrack.query.parser.check_filter`)."""

from __future__ import annotations

import tornado.web

from nbtrack.query.parser import check_filter
from nbtrack.server.base import NbtrackHandler


class FilterCheckHandler(NbtrackHandler):
    """``GET /filter/check?filter=``: ``{"ok": true}`` or ``{"ok": false, "message", "reason",
    "hint", "position", "column"}``; parsing needs no store."""

    @tornado.web.authenticated
    async def get(self) -> None:
        text = self.get_query_argument("filter", "").strip()
        self.send(await self.blocking(check_filter, text))
