"""No module of the project imports one that imports it back, and the apps depend on each other
in one direction: `training_jobs` may use `assistant` (the model registry, feedback), never the
reverse; both use `llm_runtime`, which uses neither.

The graph is read from the source with `ast`: every `import` counts, at module level or inside a
function, since a function-level import is only a cycle deferred.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The project's own packages: every top-level directory with an __init__.py except the tests.
PACKAGES = sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file() and p.name != "tests")


def _modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _imported(module: str, path: Path, node: ast.Import | ast.ImportFrom, modules: dict[str, Path]) -> Iterator[str]:
    """The project modules an import statement names (`from a import b` names a.b when b is a
    module, else a)."""
    if isinstance(node, ast.Import):
        targets = [alias.name for alias in node.names]
    else:
        if node.level:
            package = module if path.name == "__init__.py" else module.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            source = f"{package}.{node.module}" if node.module else package
        else:
            source = node.module or ""
        targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source for alias in node.names]
    for target in targets:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != module:
            yield target


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                edges.update(_imported(module, path, node, modules))
        graph[module] = edges
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """The groups of modules that import each other, directly or around a loop (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def _app_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    apps: dict[str, set[str]] = {package: set() for package in PACKAGES}
    for module, targets in graph.items():
        for target in targets:
            if target.split(".")[0] != module.split(".")[0]:
                apps[module.split(".")[0]].add(target.split(".")[0])
    return apps


def test_the_graph_reader_finds_a_cycle_and_every_kind_of_import():
    # The reader itself, on the project's own code: the training task imports the job service,
    # a function-level import is an edge, and a loop is reported as one group.
    graph = import_graph()
    assert "training_jobs.services.jobs" in graph["training_jobs.tasks"]
    assert "training_jobs.trainer.pipeline" in graph["training_jobs.services.jobs"]  # inside a function
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def test_no_module_imports_one_that_imports_it_back():
    cycles = list(strongly_connected(import_graph()))
    assert cycles == [], "modules that import each other: " + "; ".join(" <-> ".join(sorted(g)) for g in cycles)


def test_the_apps_depend_on_each_other_in_one_direction():
    apps = _app_graph(import_graph())
    assert "training_jobs" not in apps["assistant"], "assistant must not import training_jobs"
    cycles = strongly_connected(apps)
    assert cycles == [], f"apps that import each other: {cycles}"


def test_the_shared_llm_runtime_imports_no_app_and_the_trainer_no_job_rows():
    graph = import_graph()
    runtime = {t for m, targets in graph.items() if m.startswith("llm_runtime") for t in targets}
    assert {t for t in runtime if not t.startswith("llm_runtime")} == set()
    trainer = {t for m, targets in graph.items() if m.startswith("training_jobs.trainer") for t in targets}
    assert not {t for t in trainer if t == "training_jobs.models" or t.startswith("training_jobs.services")}
