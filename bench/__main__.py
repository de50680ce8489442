"""``python -m bench [NAME ...]``: run the benchmarks, merge their entries into bench/results.json, print it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bench import discover

RESULTS = Path(__file__).resolve().parent / "results.json"


def merge(path: Path, entries: dict[str, Any]) -> dict[str, Any]:
    """Update ``path`` with ``entries`` (other benchmarks' keys are kept) and return the whole document."""
    document: dict[str, Any] = {}
    if path.exists():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise SystemExit(f"{path}: not valid JSON ({exc}); fix or delete it") from None
        if isinstance(loaded, dict):
            document = loaded
    document.update(entries)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)
    return document


def main(argv: list[str] | None = None) -> int:
    registry = discover()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run (default: all of "
                                                                 f"{', '.join(registry) or 'none'})")
    parser.add_argument("--output", type=Path, default=RESULTS, help="results file (default: %(default)s)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in registry]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(registry)}")
    document: dict[str, Any] = {}
    for name in args.names or list(registry):
        print(f"bench: running {name} ...", file=sys.stderr, flush=True)
        # merged one by one: finished entries are kept even if a later benchmark fails
        document = merge(args.output, {name: registry[name]()})
    print(json.dumps(document, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
