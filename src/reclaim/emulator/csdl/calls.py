"""Hold recorded Graph calls (request and answer) to the v1.0 schema: the witness the schema tests use.

``violations(method, path, query, body, status, answer)`` lists every way one call departs from the schema:
a path segment, a query option's property or an enum literal the schema lacks, a request body or a 2xx
answer with a property the type lacks, a value of the wrong type or a non-member enum value.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from reclaim.emulator.csdl import SchemaError, Target, schema
from reclaim.emulator.wire import ApiError

JSON = dict[str, Any]

GRAPH_PREFIX = "/v1.0"


def violations(method: str, path: str, query: str | dict[str, str], body: Any, status: int | None,
               answer: Any) -> list[str]:
    """The schema violations of one Graph v1.0 call (``path`` with or without ``/v1.0``)."""
    model = schema()
    where = f"{method} {path}"
    relative = path[len(GRAPH_PREFIX):] if path.startswith(GRAPH_PREFIX + "/") else path
    if relative.rstrip("/") == "/$batch":
        return []  # the envelope; its sub-requests are recorded (and checked) one by one
    params = dict(parse_qsl(query, keep_blank_values=True)) if isinstance(query, str) else dict(query)
    try:
        target = model.resolve(relative)
    except SchemaError as exc:
        return [f"{where}: {exc.message}"]
    out: list[str] = []
    try:
        model.check_query(target, params)
    except SchemaError as exc:
        out.append(f"{where}?{_query_text(params)}: {exc.message}")
    except ApiError as exc:
        out.append(f"{where}?{_query_text(params)}: {exc.message}")
    if method in ("POST", "PATCH", "PUT") and isinstance(body, dict) and target.kind != "action":
        out.extend(f"{where} request body: {p}" for p in model.check_value(target.item_type, body))
    if status == 501:
        out.append(f"{where}: valid v1.0, but the practice tenant does not serve it")
    if status is not None and 200 <= status < 300 and isinstance(answer, dict):
        if method == "POST" and target.is_collection:  # created: the answer is the new entity
            target = Target(target.item_type, "entity")
        out.extend(f"{where} answer: {p}" for p in _answer(target, answer))
    return out


def _answer(target: Target, answer: JSON) -> list[str]:
    model = schema()
    if target.kind == "action" and "value" not in answer:
        return []
    if target.is_collection or (target.type.startswith("Edm.") or target.type in model.enums):
        if "value" not in answer:
            return [f"no 'value' in the answer for {target.type}"]
        return model.check_value(target.type, answer["value"], "value")
    plain = {k: v for k, v in answer.items() if "@" not in k}
    return model.check_value(target.type, plain, target.type)


def _query_text(params: dict[str, str]) -> str:
    return "&".join(f"{k}={v}" for k, v in params.items())
