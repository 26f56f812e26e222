"""The layering is a contract: import-linter's contracts in pyproject.toml hold, and pipelines has no import circle."""

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    """Layers of pipelines, nlp and crawlers free of pipelines, no step importing a step (pyproject.toml)."""
    done = subprocess.run([Path(sys.executable).parent / "lint-imports", "--config", ROOT / "pyproject.toml"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def import_circles(graph: grimp.ImportGraph) -> list[set[str]]:
    """Groups of modules that import each other, directly or not (strongly connected components, Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = {stack.pop()}
            while module not in group:
                group.add(stack.pop())
            if len(group) > 1:
                circles.append(group)

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return circles


def test_pipelines_has_no_import_circles():
    """Lazy imports inside functions count too: a circle hidden by one is still a circle."""
    graph = grimp.build_graph("pipelines")
    assert len(graph.modules) > 40
    assert import_circles(graph) == []


def test_the_circle_finder_finds_a_circle():
    graph = grimp.ImportGraph()
    for module in ("a", "a.x", "a.y", "a.z"):
        graph.add_module(module)
    graph.add_import(importer="a.x", imported="a.y")
    graph.add_import(importer="a.y", imported="a.x")
    graph.add_import(importer="a.y", imported="a.z")
    assert import_circles(graph) == [{"a.x", "a.y"}]
