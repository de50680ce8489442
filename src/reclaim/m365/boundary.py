"""Every answer validated at the boundary: structure strictly, fields tolerantly.

A collection page must be an object whose ``value`` is a list of objects (and whose ``@odata.nextLink``, when
present, is a string); a JSON body must parse (100,000-deep nesting included: that is an unexpected shape, not a
crash). Anything else is ``UnexpectedShape``; too many items, too many pages, or a nextLink seen before is
``LimitExceeded``. The readers above stay tolerant about fields: a missing ``displayName`` is fine, a missing
``value`` is not.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from reclaim.m365.errors import LimitExceeded, UnexpectedShape, UnreadableAnswer
from reclaim.m365.limits import Limits

__all__ = ["PageWalk", "parse_json"]

JSON = dict[str, Any]


def parse_json(response: httpx.Response, *, what: str, method: str | None = None) -> Any:
    """The JSON body, or ``UnexpectedShape`` (not JSON, or nested too deep to parse)."""
    try:
        return json.loads(response.content)
    except RecursionError:
        raise UnexpectedShape("JSON nested too deeply to read", what=what, status=response.status_code,
                              method=method, url=what) from None
    except ValueError:
        raise UnexpectedShape("not JSON", what=what, status=response.status_code, method=method,
                              url=what) from None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)


class PageWalk:
    """Reads one collection page after page: validates each page, counts pages, detects nextLink cycles."""

    def __init__(self, what: str, limits: Limits) -> None:
        self.what = what
        self.limits = limits
        self.pages = 0
        self._seen: set[str] = set()

    def page(self, body: Any, *, method: str | None = None, url: str | None = None) -> tuple[list[JSON], str | None]:
        """The items of one page and the next link (``None``: last page)."""
        self.pages += 1
        where: dict[str, Any] = {"what": self.what, "method": method, "url": url}
        if not isinstance(body, dict):
            raise UnexpectedShape(f"a collection page that is {_kind(body)}, not an object", **where)
        if "value" not in body:
            raise UnexpectedShape("a collection page without 'value'", **where)
        items = body["value"]
        if not isinstance(items, list):
            raise UnexpectedShape(f"'value' is {_kind(items)}, not a list", **where)
        if len(items) > self.limits.max_page_items:
            raise LimitExceeded(f"the cap of {self.limits.max_page_items:,} items per page ({len(items):,} items)",
                                setting="RECLAIM_MAX_PAGE_ITEMS", **where)
        bad = next((i for i, item in enumerate(items) if not isinstance(item, dict)), None)
        if bad is not None:
            raise UnexpectedShape(f"item {bad} of 'value' is {_kind(items[bad])}, not an object", **where)
        link = body.get("@odata.nextLink")
        if link is None:
            return items, None
        if not isinstance(link, str) or not link:
            raise UnexpectedShape(f"'@odata.nextLink' is {_kind(link)}, not a link", **where)
        if link in self._seen or link == url:
            raise UnreadableAnswer(f"a nextLink cycle: page {self.pages} links back to an earlier page",
                                   why="nextLink cycle", **where)
        if self.pages >= self.limits.max_pages:
            raise LimitExceeded(f"the cap of {self.limits.max_pages:,} pages per collection",
                                setting="RECLAIM_MAX_PAGES", **where)
        self._seen.add(link)
        if url is not None:
            self._seen.add(url)
        return items, link
