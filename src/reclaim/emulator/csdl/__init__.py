"""Microsoft Graph v1.0 as its published schema (CSDL) describes it: the emulator's measure of what is valid.

``v1.0.json.gz`` beside this module is derived from Microsoft's CSDL by ``derive.py`` (committed, regenerated
with ``python -m reclaim.emulator.csdl.derive``). ``SCHEMA`` answers:

- ``resolve(path)``: what a URL path addresses (an entity set, an entity by key, a navigation or structural
  property, a cast, a bound function or action), or the first segment the schema does not know;
- ``check_query``: the ``$select`` / ``$filter`` / ``$orderby`` / ``$expand`` properties of the addressed type
  (for directory objects, also those of a derived type, as Graph allows) and the enum literals of ``$filter``;
- ``check_value``: a request or response body against a type — unknown properties, wrong primitive types,
  enum values that are not members, null where the property is not nullable.

The emulator's router refuses what ``resolve`` and ``check_query`` refuse; the schema test
(``tests/emulator/test_schema_flows.py``) holds every request and answer of every command to it through
``calls.violations``.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from reclaim.emulator.odata_filter import Call, Compare, Expr, Lambda, Literal, Prop, parse_filter, walk

JSON = dict[str, Any]

SCHEMA_FILE = Path(__file__).with_name("v1.0.json.gz")
GRAPH = "microsoft.graph."
DIRECTORY_OBJECT = "microsoft.graph.directoryObject"

_PATH_ADDRESS = re.compile(r":/[^:]*(?::(?=/|$)|$)")
_SEGMENT = re.compile(r"^(?P<name>[^()]+)(?:\((?P<args>.*)\))?$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?$")
_DURATION = re.compile(r"^-?P(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_INTEGERS = {"Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte", "Edm.SByte"}
_NUMBERS = {"Edm.Double", "Edm.Single", "Edm.Decimal"}


#: Paths ``Schema.resolve`` remembers before it starts afresh.
_RESOLVED_MAX = 16384


class SchemaError(Exception):
    """A request the schema refuses. ``kind``: ``segment`` (an unknown path segment), ``property`` (a query
    option names a property the type lacks), ``enum`` (a value that is not a member), ``value`` (a body)."""

    def __init__(self, kind: str, message: str, *, segment: str = "", type_name: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.segment = segment
        self.type_name = type_name


@dataclass(frozen=True)
class Target:
    """What a path addresses: ``type`` is ``microsoft.graph.x``, ``Collection(...)`` or ``Edm.*``; ``kind`` is
    ``set``, ``entity``, ``navigation``, ``property``, ``function``, ``action``, ``count`` or ``cast``."""

    type: str
    kind: str

    @property
    def is_collection(self) -> bool:
        return self.type.startswith("Collection(")

    @property
    def item_type(self) -> str:
        return self.type[11:-1] if self.is_collection else self.type


def _split_collection(type_name: str) -> tuple[str, bool]:
    if type_name.startswith("Collection("):
        return type_name[11:-1], True
    return type_name, False


class Schema:
    def __init__(self, data: JSON) -> None:
        self.types: dict[str, JSON] = data["types"]
        #: path -> what it addresses, or the refusal's (kind, message, segment, type name); see ``resolve``
        self._resolved: dict[str, Target | tuple[str, str, str, str]] = {}
        self.enums: dict[str, JSON] = data["enums"]
        self.operations: dict[str, dict[str, JSON]] = data["operations"]
        self.sets: dict[str, str] = data["sets"]
        self.source: JSON = data.get("source", {})
        self._lower_sets = {k.lower(): k for k in self.sets}
        self._derived: dict[str, set[str]] | None = None

    # ------------------------------------------------------------------ types
    def chain(self, type_name: str) -> list[str]:
        """The type and its base types, most derived first."""
        out: list[str] = []
        current: str | None = type_name
        while current is not None and current in self.types and current not in out:
            out.append(current)
            current = self.types[current].get("base")
        return out

    def derived(self, type_name: str) -> set[str]:
        """Every type deriving (directly or not) from ``type_name``, itself included."""
        if self._derived is None:
            children: dict[str, set[str]] = {}
            for name, entry in self.types.items():
                if entry.get("base"):
                    children.setdefault(entry["base"], set()).add(name)
            self._derived = children
        out = {type_name}
        stack = [type_name]
        while stack:
            for child in self._derived.get(stack.pop(), ()):
                if child not in out:
                    out.add(child)
                    stack.append(child)
        return out

    def is_a(self, type_name: str, base: str) -> bool:
        return base in self.chain(type_name)

    def member(self, type_name: str, name: str) -> tuple[str, str, bool] | None:
        """``(kind, type, nullable)`` of the structural (``prop``) or navigation (``nav``) property ``name``
        (exact case first, then case-insensitive as Graph matches query options), or None."""
        for candidate in self.chain(type_name):
            entry = self.types[candidate]
            if name in entry["props"]:
                t, nullable = entry["props"][name]
                return "prop", t, nullable
            if name in entry["nav"]:
                return "nav", entry["nav"][name][0], True
        lowered = name.lower()
        for candidate in self.chain(type_name):
            entry = self.types[candidate]
            for kind, table in (("prop", entry["props"]), ("nav", entry["nav"])):
                for key, spec in table.items():
                    if key.lower() == lowered:
                        return kind, spec[0], spec[1] if kind == "prop" else True
        return None

    def member_in_family(self, type_name: str, name: str) -> tuple[str, str, bool] | None:
        """``member``; for directory objects also a property of a type derived from ``type_name``."""
        found = self.member(type_name, name)
        if found is not None or not self.is_a(type_name, DIRECTORY_OBJECT):
            return found
        for derived in sorted(self.derived(type_name)):
            found = self.member(derived, name)
            if found is not None:
                return found
        return None

    def is_open(self, type_name: str) -> bool:
        return any(self.types[t].get("open") for t in self.chain(type_name))

    def operation(self, binding: str, name: str) -> JSON | None:
        item, collection = _split_collection(binding)
        for candidate in self.chain(item) or [item]:
            key = f"Collection({candidate})" if collection else candidate
            ops = self.operations.get(key, {})
            if name in ops:
                return ops[name]
        return None

    def qualified(self, name: str) -> str | None:
        """A type name as written in a URL or ``@odata.type`` (``microsoft.graph.group`` / ``#microsoft...``)."""
        name = name.lstrip("#")
        if name in self.types:
            return name
        if f"{GRAPH}{name}" in self.types and "." in name:
            return f"{GRAPH}{name}"
        return None

    # ------------------------------------------------------------------ paths
    def resolve(self, path: str) -> Target:
        """What ``path`` (below ``/v1.0``) addresses; ``SchemaError("segment")`` at the first unknown segment.

        Remembered by path (the schema never changes): a busy client asks the same paths again and again."""
        hit = self._resolved.get(path)
        if hit is None:
            try:
                hit = self._resolve(path)
            except SchemaError as exc:
                hit = (exc.kind, exc.message, exc.segment, exc.type_name)
            if len(self._resolved) >= _RESOLVED_MAX:
                self._resolved.clear()
            self._resolved[path] = hit
        if isinstance(hit, Target):
            return hit
        kind, message, segment, type_name = hit
        raise SchemaError(kind, message, segment=segment, type_name=type_name)

    def _resolve(self, path: str) -> Target:
        # OneDrive's path-based addressing (``root:/Finance/a.xlsx:/permissions``, ``items/{id}:/b.txt``) names a
        # driveItem below another one: not in the CSDL, it addresses the same type as the item it starts from.
        path = _PATH_ADDRESS.sub("", path)
        segments = [s for s in path.strip("/").split("/") if s]
        if not segments:
            raise SchemaError("segment", "Resource not found for the segment '/'.", segment="/")
        target: Target | None = None
        for segment in segments:
            target = self._step(target, segment)
        assert target is not None
        return target

    def _step(self, current: Target | None, segment: str) -> Target:
        match = _SEGMENT.match(segment)
        name, args = (match.group("name"), match.group("args")) if match else (segment, None)
        unknown = SchemaError("segment", f"Resource not found for the segment '{name}'.", segment=name)
        if current is None:
            key = self._lower_sets.get(name.lower())
            if key is None:
                raise unknown
            found = Target(self.sets[key], "set" if self.sets[key].startswith("Collection(") else "entity")
            return self._key(found, args, name) if args is not None else found
        if current.type.startswith("Edm.") or current.item_type in self.enums:
            if name == "$value":
                return Target(current.type, "property")
            raise unknown
        item = current.item_type
        if current.is_collection:
            if name == "$count":
                return Target("Edm.Int32", "count")
            op = self.operation(current.type, name)
            if op is not None:
                return Target(op["returns"] or "Edm.Untyped", op["kind"])
            cast = self.qualified(name)
            if cast is not None and self.is_a(cast, item):
                return Target(f"Collection({cast})", "cast")
            if args is not None:  # users('id')
                return self._key(current, args, name)
            if self.types.get(item, {}).get("kind") != "entity":
                raise unknown
            return Target(item, "entity")  # a key segment
        member = self.member(item, name)
        if member is not None:
            member_kind, member_type, _ = member
            result = Target(member_type, "navigation" if member_kind == "nav" else "property")
            return self._key(result, args, name) if args is not None else result
        op = self.operation(item, name)
        if op is not None:
            return Target(op["returns"] or "Edm.Untyped", op["kind"])
        cast = self.qualified(name)
        if cast is not None and self.is_a(cast, item):
            return Target(cast, "cast")
        raise unknown

    def _key(self, target: Target, args: str, name: str) -> Target:
        """``set(key)`` or ``set(altKey='value')``: the key must be a declared alternate key."""
        if not target.is_collection:
            raise SchemaError("segment", f"Resource not found for the segment '{name}'.", segment=name)
        if "=" in args:
            prop = args.split("=", 1)[0].strip()
            keys = {k for t in self.chain(target.item_type) for k in self.types[t].get("altKeys", [])}
            if prop not in keys:
                raise SchemaError("segment", f"Resource not found for the segment '{name}'.", segment=name)
        return Target(target.item_type, "entity")

    # ------------------------------------------------------------------ query options
    def structured(self, target: Target) -> str | None:
        """The entity or complex type whose properties the query options of ``target`` may name."""
        item = target.item_type
        return item if item in self.types else None

    def check_query(self, target: Target, query: dict[str, str]) -> None:
        type_name = self.structured(target)
        if type_name is None:
            return
        select = query.get("$select")
        if select:
            for name in (p.strip() for p in select.split(",")):
                if name and name != "*" and self.member_in_family(type_name, name) is None:
                    raise _no_property(name, type_name)
        expand = query.get("$expand")
        if expand:
            for name in _top_level(expand):
                name = name.split("(", 1)[0].strip()
                found = self.member_in_family(type_name, name) if name != "*" else ("nav", "", True)
                if found is None or found[0] != "nav":
                    raise _no_property(name, type_name)
        orderby = query.get("$orderby")
        if orderby:
            for clause in orderby.split(","):
                words = clause.strip().split()
                if words:
                    self.property_path(type_name, words[0].split("/"))
        filter_text = query.get("$filter")
        if filter_text:
            self._check_filter(type_name, parse_filter(filter_text))

    def property_path(self, type_name: str, path: list[str] | tuple[str, ...]) -> str:
        """The type at the end of ``a/b/c`` from ``type_name``; ``SchemaError("property")`` where it breaks."""
        current = type_name
        for name in path:
            item, _ = _split_collection(current)
            if item not in self.types:
                raise _no_property(name, item)
            found = self.member_in_family(item, name) if current == type_name else self.member(item, name)
            if found is None:
                raise _no_property(name, item)
            current = found[1]
        return current

    def _check_filter(self, type_name: str, expr: Expr) -> None:
        bound: dict[str, str] = {}
        for node in walk(expr):
            if isinstance(node, Lambda):
                collection = self._prop_type(type_name, node.collection, bound)
                bound[node.var] = _split_collection(collection)[0]
        for node in walk(expr):
            if isinstance(node, Compare):
                for side, other in ((node.left, node.right), (node.right, node.left)):
                    if isinstance(side, Prop):
                        prop_type = self._prop_type(type_name, side, bound)
                        if isinstance(other, Literal):
                            self._check_literal(prop_type, other.value)
            elif isinstance(node, Call):
                self._prop_type(type_name, node.prop, bound)

    def _prop_type(self, type_name: str, prop: Prop, bound: dict[str, str]) -> str:
        if prop.path[0] in bound:
            rest = prop.path[1:]
            return self.property_path(bound[prop.path[0]], rest) if rest else bound[prop.path[0]]
        return self.property_path(type_name, prop.path)

    def _check_literal(self, type_name: str, value: Any) -> None:
        item, _ = _split_collection(type_name)
        if item in self.enums and isinstance(value, str) and not self._enum_ok(item, value):
            raise SchemaError("enum", f"The string '{value}' is not a valid enumeration type constant.",
                              type_name=item)

    def _enum_ok(self, enum: str, value: str) -> bool:
        spec = self.enums[enum]
        members = spec["members"]
        if spec["flags"]:
            return all(part.strip() in members for part in value.split(","))
        return value in members

    # ------------------------------------------------------------------ values
    def check_value(self, type_name: str, value: Any, where: str = "", *, nullable: bool = True) -> list[str]:
        """Every way ``value`` departs from ``type_name`` (empty: it conforms)."""
        problems: list[str] = []
        self._value(type_name, value, where or type_name, nullable, problems)
        return problems

    def _value(self, type_name: str, value: Any, where: str, nullable: bool, out: list[str]) -> None:
        item, collection = _split_collection(type_name)
        if value is None:
            if not nullable:
                out.append(f"{where}: null, but the property is not nullable ({type_name})")
            return
        if collection:
            if not isinstance(value, list):
                out.append(f"{where}: {type(value).__name__}, expected a collection of {item}")
                return
            for index, element in enumerate(value):
                self._value(item, element, f"{where}[{index}]", nullable, out)
            return
        if item.startswith("Edm."):
            if not _primitive_ok(item, value):
                out.append(f"{where}: {value!r} is not a valid {item}")
            return
        if item in self.enums:
            if not isinstance(value, str) or not self._enum_ok(item, value):
                out.append(f"{where}: {value!r} is not a member of {item}")
            return
        if item not in self.types:
            out.append(f"{where}: the schema has no type {item}")
            return
        if not isinstance(value, dict):
            out.append(f"{where}: {type(value).__name__}, expected an object of type {item}")
            return
        actual = item
        declared = value.get("@odata.type")
        if isinstance(declared, str):
            cast = self.qualified(declared)
            if cast is None or not self.is_a(cast, item):
                out.append(f"{where}: @odata.type {declared!r} is not {item} or a type derived from it")
                return
            actual = cast
        open_type = self.is_open(actual)
        for key, element in value.items():
            if "@" in key:  # instance annotations: @odata.type, x@odata.nextLink, ...
                continue
            found = self.member(actual, key)
            if found is None or key not in self._names(actual):
                if not open_type:
                    out.append(f"{where}.{key}: {actual} has no property {key!r}")
                continue
            _kind, prop_type, prop_nullable = found
            self._value(prop_type, element, f"{where}.{key}", prop_nullable, out)

    @cache  # noqa: B019 - one schema per process
    def _names(self, type_name: str) -> frozenset[str]:
        """Exact property names of a type (the wire is case-sensitive, query options are not)."""
        names: set[str] = set()
        for t in self.chain(type_name):
            names.update(self.types[t]["props"])
            names.update(self.types[t]["nav"])
        return frozenset(names)


def _primitive_ok(type_name: str, value: Any) -> bool:
    if type_name == "Edm.String":
        return isinstance(value, str)
    if type_name == "Edm.Boolean":
        return isinstance(value, bool)
    if type_name in _INTEGERS:
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name in _NUMBERS:
        return (isinstance(value, int | float) and not isinstance(value, bool)) or value in ("INF", "-INF", "NaN")
    if type_name == "Edm.DateTimeOffset":
        return isinstance(value, str) and _DATETIME.match(value) is not None
    if type_name == "Edm.Date":
        return isinstance(value, str) and _DATE.match(value) is not None
    if type_name == "Edm.TimeOfDay":
        return isinstance(value, str) and _TIME.match(value) is not None
    if type_name == "Edm.Duration":
        return isinstance(value, str) and _DURATION.match(value) is not None
    if type_name == "Edm.Guid":
        return isinstance(value, str) and _GUID.match(value) is not None
    if type_name == "Edm.Binary":
        return isinstance(value, str)
    return True  # Edm.Stream, Edm.Untyped, geography types: not checked


def _top_level(text: str) -> list[str]:
    """Comma-separated items of ``$expand``, ignoring commas inside parentheses."""
    items, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            items.append(text[start:index])
            start = index + 1
    items.append(text[start:])
    return [i.strip() for i in items if i.strip()]


def _no_property(name: str, type_name: str) -> SchemaError:
    return SchemaError("property", f"Could not find a property named '{name}' on type '{type_name}'.",
                       segment=name, type_name=type_name)


@cache
def schema() -> Schema:
    """The v1.0 schema (loaded once, on first use)."""
    return Schema(json.loads(gzip.decompress(SCHEMA_FILE.read_bytes())))
