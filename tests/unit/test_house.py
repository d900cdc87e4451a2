"""The house rules STYLE.md and CONTRIBUTING.md state, checked so they stay true: the layers
import downwards only, no module imports itself back through others, no module grows past
800 lines, and the README stays a front door whose links resolve."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("kit", "services", "gateway", "deploy")
MAX_LINES = 800


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _imported(node: ast.AST, module: str) -> Iterator[str]:
    """Project modules a module-level import statement names (most specific that exists)."""
    if isinstance(node, ast.Import):
        targets = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:  # relative: resolve against the importing package
            package = module.split(".")[: -node.level or None]
            base = ".".join([*package, base] if base else package)
        targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
    else:
        return
    for target in targets:
        while target and target not in MODULES:
            target = target.rpartition(".")[0]
        if target and target != module:
            yield target


def _graph() -> dict[str, set[str]]:
    """Each module's module-level imports of project modules (function-level ones are
    deliberate late imports and do not run at import time)."""
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[name] = {t for node in tree.body for t in _imported(node, name)}
    return graph


GRAPH = _graph()


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_the_import_walk_sees_the_code() -> None:
    assert "services.registry.enterprises.service" in GRAPH
    assert "kit.db" in GRAPH["services.registry.enterprises.service"]


def test_no_import_cycle() -> None:
    assert _cycles(GRAPH) == []


def test_the_cycle_finder_finds_one() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _layer(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "services" else parts[0]


@pytest.mark.parametrize(
    ("importer", "forbidden"),
    [
        ("kit", ("services", "gateway", "deploy")),  # the ground floor imports nothing above
        ("services", ("gateway", "deploy")),
        ("gateway", ("services", "deploy")),
    ],
)
def test_layers_import_downwards(importer: str, forbidden: tuple[str, ...]) -> None:
    wrong = sorted(
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        if module.split(".")[0] == importer
        for target in targets
        if target.split(".")[0] in forbidden
    )
    assert wrong == []


def test_no_service_imports_another() -> None:
    wrong = sorted(
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        if module.startswith("services.")
        for target in targets
        if target.startswith("services.") and _layer(target) != _layer(module)
    )
    assert wrong == []


def test_no_module_over_800_lines() -> None:
    sizes = {
        name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in MODULES.items()
    }
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "CONTRIBUTING.md"]


def test_the_readme_is_a_front_door() -> None:
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 200


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    local = [t.split("#")[0] for t in targets if not re.match(r"[a-z]+:|#", t)]
    missing = [t for t in local if t and not (doc.parent / t).exists()]
    assert missing == []


def test_advisory_locks_only_through_kit_locks() -> None:
    """kit.locks is the one registry of lock names; a bare pg_advisory call elsewhere is a
    magic number or a string hash that may collide with another lock."""
    wrong = sorted(
        name
        for name, path in MODULES.items()
        if name != "kit.locks"
        and "advisory_" in path.read_text(encoding="utf-8").replace("advisory locks", "")
    )
    assert wrong == []


def test_test_modules_outside_packages_have_unique_names() -> None:
    """tests/unit and tests/e2e are not packages: pytest imports their modules by file name,
    so two test_x.py there stop the whole collection ("import file mismatch")."""
    seen: dict[str, Path] = {}
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        if (path.parent / "__init__.py").exists():
            continue
        assert path.name not in seen, f"{path} and {seen[path.name]} share a name"
        seen[path.name] = path


@pytest.mark.parametrize(
    "module",
    [
        "services.registry.main",
        "services.credit.main",
        "services.inspection.main",
        "services.notify.main",
        "gateway.main",
    ],
)
def test_routes_and_dependencies_run_on_the_event_loop(module: str) -> None:
    """FastAPI runs a plain `def` endpoint or dependency in a worker thread: a hand-off per
    request that costs more than a small function's work (it showed in the list routes'
    profiles). Every one is a coroutine (or a class, which FastAPI calls directly)."""
    import importlib
    import inspect

    from kit.http import routes_of

    app = importlib.import_module(module).app
    threaded = []

    def walk(dependant: Any, where: str) -> None:
        for dep in dependant.dependencies:
            call = dep.call
            if call is not None and not (
                inspect.iscoroutinefunction(call)
                or inspect.isasyncgenfunction(call)
                or inspect.isclass(call)
                or inspect.iscoroutinefunction(type(call).__call__)
            ):
                threaded.append(f"{where}: {getattr(call, '__qualname__', call)}")
            walk(dep, where)

    for route in routes_of(app):
        dependant = getattr(route, "dependant", None)
        if dependant is None:
            continue
        if not inspect.iscoroutinefunction(route.endpoint):
            threaded.append(f"{route.path}: the endpoint")
        walk(dependant, route.path)
    assert not threaded, threaded
