"""Issue 10: the import graph of redif has no circles and no import that points down the layer stack.

The graph is built with :mod:`ast` from the sources under ``src/redif``: every ``import``/``from ... import``
statement, at module level or inside a function (an import inside a function hides a circle, it does not
remove it). The layers are the ones drawn in ``ARCHITECTURE.md`` ("Layers"; repeated in
``docs/architecture.md``): interfaces (cli, web, reports) > analysis (ipd, federated) > registry >
pathway, workflows > engines (evidence, dosimetry, response, design) > model > foundation (data, io,
units, errors).
A module may import from its own layer or any layer below it, never from a layer above.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = SRC / "redif"

#: Layer rank of each top-level sub-package of redif (higher = closer to the user).
LAYERS: dict[str, int] = {
    "cli": 6, "web": 6, "reports": 6, "__main__": 6,
    "ipd": 5, "federated": 5,
    "registry": 4,
    "pathway": 3, "workflows": 3,
    "evidence": 2, "dosimetry": 2, "response": 2, "design": 2,
    "model": 1,
    "data": 0, "io": 0, "units": 0, "errors": 0, "": 0,
}
LAYER_NAMES = {6: "interfaces", 5: "analysis", 4: "registry", 3: "pathway", 2: "engines", 1: "model",
               0: "foundation"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The redif module that ``name`` (a module or a name inside one) refers to, or None."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str, path: Path) -> Iterator[tuple[str, int]]:
    """(imported redif module, line) for every import statement in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _resolve(alias.name)
                if target is not None:
                    yield target, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if not base.startswith("redif"):
                continue
            for alias in node.names:
                target = _resolve(f"{base}.{alias.name}")
                if target is not None and target != module:
                    yield target, node.lineno


def _graph() -> dict[str, dict[str, int]]:
    graph: dict[str, dict[str, int]] = {}
    for module, path in MODULES.items():
        edges: dict[str, int] = {}
        for target, line in _imports(module, path):
            if target != module:
                edges.setdefault(target, line)
        graph[module] = edges
    return graph


def _layer(module: str) -> int:
    parts = module.split(".")
    key = parts[1] if len(parts) > 1 else ""
    if key not in LAYERS:
        raise AssertionError(f"{module}: sub-package {key!r} is in no layer; add it to LAYERS and the docs")
    return LAYERS[key]


def _cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


GRAPH = _graph()


def test_graph_is_built() -> None:
    """Issue 10: the walker finds the modules and edges it must (a known edge: cli.main -> cli._common)."""
    assert "redif.pathway.case" in MODULES
    assert "redif.cli._common" in GRAPH["redif.cli.main"]


def test_no_import_circles() -> None:
    """Issue 10: no circle between redif modules (pathway case -> engines -> case and regimens <->
    evidence_link were hidden by imports inside functions)."""
    cycles = _cycles(GRAPH)
    detail = "\n".join(
        " <-> ".join(c) + "\n    " + "; ".join(
            f"{a} -> {b} (line {GRAPH[a][b]})" for a in c for b in c if b in GRAPH[a]
        )
        for c in cycles
    )
    assert not cycles, f"import circles:\n{detail}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_upward_import(module: str) -> None:
    """Issue 10: ``module`` imports only from its own layer or below (layers of ARCHITECTURE.md)."""
    mine = _layer(module)
    bad = [
        f"{module} ({LAYER_NAMES[mine]}) -> {target} ({LAYER_NAMES[_layer(target)]}) at line {line}"
        for target, line in GRAPH[module].items()
        if _layer(target) > mine
    ]
    assert not bad, "upward imports:\n" + "\n".join(bad)
