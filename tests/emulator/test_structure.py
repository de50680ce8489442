"""The emulator's shape: no import cycles, one registration list, handlers that never reach the application."""

from __future__ import annotations

import ast
from pathlib import Path

import reclaim.emulator
from reclaim.emulator import services

PACKAGE = "reclaim.emulator"
ROOT = Path(reclaim.emulator.__file__).parent


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join([PACKAGE, *parts])] = path
    return out


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module → the emulator modules it imports anywhere in its text (top level, ``TYPE_CHECKING`` blocks and
    inside functions alike: an import deferred into a function is still a cycle of the design)."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE):
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    deps.add(sub if sub in modules else node.module)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name.startswith(PACKAGE))
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path (first module repeated at the end), or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(graph, WHITE)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = GREY
        stack.append(node)
        for dep in sorted(graph[node]):
            if colour[dep] == GREY:
                return [*stack[stack.index(dep):], dep]
            if colour[dep] == WHITE and (found := visit(dep)) is not None:
                return found
        stack.pop()
        colour[node] = BLACK
        return None

    for start in sorted(graph):
        if colour[start] == WHITE and (cycle := visit(start)) is not None:
            return cycle
    return None


def test_the_emulator_has_no_import_cycle() -> None:
    cycle = find_cycle(import_graph(_modules()))
    assert cycle is None, "import cycle: " + " -> ".join(m.removeprefix(PACKAGE + ".") for m in cycle or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_only_the_application_shell_imports_the_application() -> None:
    """Handlers and API surfaces get the tenant, the clock or a ``Runtime``, never ``Emulator`` itself."""
    graph = import_graph(_modules())
    importers = sorted(m for m, deps in graph.items() if f"{PACKAGE}.app" in deps)
    assert importers == [PACKAGE, f"{PACKAGE}.server"]


def _registers(path: Path) -> bool:
    text = path.read_text(encoding="utf-8")
    return "ROUTER.add(" in text or "@cmdlet(" in text or "\n@operation(" in text


def test_every_module_that_registers_operations_is_listed_in_services() -> None:
    listed = {m.__name__ for m in (*services.GRAPH_RESOURCES, *services.EXCHANGE_CMDLETS,
                                   *services.SHAREPOINT_REST)}
    framework = {f"{PACKAGE}.{m}" for m in ("graph", "services", "wire")}
    registering = {name for name, path in _modules().items() if _registers(path) and name not in framework}
    missing = sorted(registering - listed)
    assert not missing, f"add these modules to reclaim/emulator/services.py: {missing}"


def test_handlers_read_the_tenant_not_the_application() -> None:
    offenders = [f"{path.name}:{n}" for path in ROOT.rglob("*.py") if path.name != "wire.py"
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if "req.emulator" in line]
    assert offenders == []
