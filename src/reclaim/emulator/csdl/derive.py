"""Derive the emulator's compact schema (``v1.0.json.gz``) from Microsoft's Graph v1.0 CSDL.

The CSDL (``microsoftgraph/msgraph-metadata``, ``clean_v10_metadata/cleanMetadataWithDescriptionsv1.0.xml``
as kept in ``../shared/reference/graph/v1.0.csdl``) is 3 MB of XML; the emulator needs only its types
(properties with their types and nullability, navigation properties, base types), enum members, the entity
sets and singletons, alternate keys and the bound functions and actions. Run from the repository::

    python -m reclaim.emulator.csdl.derive [PATH-TO-CSDL]

(default: ``../shared/reference/graph/v1.0.csdl`` beside the repository) and commit the regenerated file.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
#: the derived file, next to this module
TARGET = Path(__file__).with_name("v1.0.json.gz")
#: ``<repository>/../shared/reference/graph/v1.0.csdl``
DEFAULT_SOURCE = Path(__file__).resolve().parents[4].parent / "shared" / "reference" / "graph" / "v1.0.csdl"


def _qualify(name: str, aliases: dict[str, str]) -> str:
    """``graph.user`` / ``Collection(self.alert)`` -> the namespace-qualified name."""
    if name.startswith("Collection(") and name.endswith(")"):
        return f"Collection({_qualify(name[11:-1], aliases)})"
    if name.startswith("Edm."):
        return name
    prefix, _, local = name.rpartition(".")
    return f"{aliases.get(prefix, prefix)}.{local}"


def _alternate_keys(element: ET.Element) -> list[str]:
    keys: list[str] = []
    for annotation in element.findall(f"{EDM}Annotation"):
        if annotation.get("Term") != "Org.OData.Core.V1.AlternateKeys":
            continue
        for value in annotation.iter(f"{EDM}PropertyValue"):
            if value.get("Property") == "Name" and value.get("PropertyPath"):
                keys.append(str(value.get("PropertyPath")))
    return keys


def derive(source: Path) -> dict[str, Any]:
    raw = source.read_bytes()
    root = ET.fromstring(raw)  # noqa: S314 - trusted local file
    schemas = list(root.iter(f"{EDM}Schema"))
    aliases = {str(s.get("Alias")): str(s.get("Namespace")) for s in schemas if s.get("Alias")}
    types: dict[str, Any] = {}
    enums: dict[str, Any] = {}
    operations: dict[str, dict[str, Any]] = {}
    sets: dict[str, Any] = {}
    for schema in schemas:
        namespace = str(schema.get("Namespace"))
        for element in schema:
            tag = element.tag.removeprefix(EDM)
            name = f"{namespace}.{element.get('Name')}"
            if tag == "EnumType":
                enums[name] = {"members": [str(m.get("Name")) for m in element.findall(f"{EDM}Member")],
                               "flags": element.get("IsFlags") == "true"}
            elif tag in ("EntityType", "ComplexType"):
                entry: dict[str, Any] = {"kind": "entity" if tag == "EntityType" else "complex",
                                         "props": {}, "nav": {}}
                if element.get("BaseType"):
                    entry["base"] = _qualify(str(element.get("BaseType")), aliases)
                if element.get("Abstract") == "true":
                    entry["abstract"] = True
                if element.get("OpenType") == "true":
                    entry["open"] = True
                for prop in element.findall(f"{EDM}Property"):
                    entry["props"][str(prop.get("Name"))] = [_qualify(str(prop.get("Type")), aliases),
                                                             prop.get("Nullable") != "false"]
                for nav in element.findall(f"{EDM}NavigationProperty"):
                    entry["nav"][str(nav.get("Name"))] = [_qualify(str(nav.get("Type")), aliases),
                                                          nav.get("ContainsTarget") == "true"]
                if keys := _alternate_keys(element):
                    entry["altKeys"] = keys
                types[name] = entry
            elif tag in ("Function", "Action") and element.get("IsBound") == "true":
                params = element.findall(f"{EDM}Parameter")
                binding = _qualify(str(params[0].get("Type")), aliases)
                returns = element.find(f"{EDM}ReturnType")
                operations.setdefault(binding, {})[str(element.get("Name"))] = {
                    "kind": tag.lower(),
                    "params": [str(p.get("Name")) for p in params[1:]],
                    "returns": _qualify(str(returns.get("Type")), aliases) if returns is not None else None,
                }
            elif tag == "EntityContainer":
                for item in element:
                    item_tag = item.tag.removeprefix(EDM)
                    if item_tag == "EntitySet":
                        sets[str(item.get("Name"))] = f"Collection({_qualify(str(item.get('EntityType')), aliases)})"
                    elif item_tag == "Singleton":
                        sets[str(item.get("Name"))] = _qualify(str(item.get("Type")), aliases)
    return {"source": {"file": "v1.0.csdl (microsoftgraph/msgraph-metadata)",
                       "sha256": hashlib.sha256(raw).hexdigest()},
            "types": types, "enums": enums, "operations": operations, "sets": sets}


def main(argv: list[str]) -> int:
    source = Path(argv[0]) if argv else DEFAULT_SOURCE
    if not source.exists():
        print(f"CSDL not found: {source} (pass its path)", file=sys.stderr)
        return 2
    schema = derive(source)
    data = json.dumps(schema, separators=(",", ":"), sort_keys=True).encode()
    TARGET.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    print(f"{TARGET.name}: {len(schema['types'])} types, {len(schema['enums'])} enums, "
          f"{len(schema['sets'])} entity sets and singletons, {len(data)} bytes "
          f"({TARGET.stat().st_size} compressed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
