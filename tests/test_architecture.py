"""The import contract (ARCHITECTURE.md), read from the source with ``ast``: layers, no cycles, no hidden imports.

* Layers: ``genomics`` → ``models`` → ``dashboard`` → ``pages``/``app.py``; a module imports only from its own
  layer or the ones below it. ``bench`` may use the product layers, ``tests`` anything; nothing imports
  ``tests`` or ``bench`` except themselves. Streamlit is imported only by ``dashboard/ui``-style modules, pages
  and ``app.py`` — never by ``genomics`` or ``models``.
* No import cycle between first-party modules, counting imports inside functions too (a deferred import
  hides a cycle; it does not break it).
* An import inside a function says why on its line: ``# lazy: <reason>`` (an optional dependency, start-up
  cost of a heavy library, a module that must not load in a worker). Anything else goes at the top.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("genomics", "models", "dashboard", "pages", "bench")
LAYER = {"genomics": 0, "models": 1, "dashboard": 2, "pages": 3, "app": 3}
NO_STREAMLIT = ("genomics", "models")


def _module_name(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    files = [REPO / "app.py", *(p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py"))]
    return {_module_name(p): p for p in files if "__pycache__" not in p.parts}


SOURCES = _sources()


def _resolve(name: str) -> str | None:
    """The first-party module an imported name refers to (a package's module, or the package itself)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in SOURCES:
            return candidate
        parts = parts[:-1]
    return None


def _imports(path: Path) -> list[tuple[str, int, bool, str]]:
    """(imported name, line, inside a function, the line's text) for every import of a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[tuple[str, int, bool, str]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    out.append((alias.name, child.lineno, in_function, lines[child.lineno - 1]))
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                for alias in child.names:
                    out.append((f"{child.module}.{alias.name}", child.lineno, in_function,
                                lines[child.lineno - 1]))
            visit(child, inner)

    visit(tree, False)
    return out


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in SOURCES}
    for module, path in SOURCES.items():
        for name, _line, _inner, _text in _imports(path):
            target = _resolve(name)
            if target is not None and target != module and not module.startswith(target + "."):
                graph[module].add(target)
    return graph


def _top(module: str) -> str:
    return module.split(".")[0]


def test_layers_only_import_downwards():
    breaks = []
    for module, path in SOURCES.items():
        top = _top(module)
        for name, line, _inner, _text in _imports(path):
            target = _top(name)
            if target in ("tests",) or (target == "bench" and top != "bench"):
                breaks.append(f"{path.relative_to(REPO)}:{line} imports {name}")
            elif top in LAYER and target in LAYER and LAYER[target] > LAYER[top]:
                breaks.append(f"{path.relative_to(REPO)}:{line} imports {name} (a higher layer)")
            elif top in NO_STREAMLIT and target == "streamlit":
                breaks.append(f"{path.relative_to(REPO)}:{line} imports streamlit")
    assert not breaks, "layer breaks:\n" + "\n".join(breaks)


def test_no_import_cycles():
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_function_level_imports_state_their_reason():
    unexplained = sorted({f"{path.relative_to(REPO)}:{line}: {text.strip()}"
                          for module, path in SOURCES.items()
                          for _name, line, inner, text in _imports(path)
                          if inner and "# lazy:" not in text})
    assert not unexplained, (f"{len(unexplained)} import(s) inside functions without '# lazy: <reason>':\n"
                             + "\n".join(unexplained[:60]))


@pytest.mark.parametrize("package", ["genomics", "models", "dashboard"])
def test_contract_sees_the_package(package):
    """The contract reads the real tree (a test of the test: it must find modules and imports)."""
    modules = [m for m in SOURCES if _top(m) == package]
    assert len(modules) >= 5
    assert sum(len(_imports(SOURCES[m])) for m in modules) > 20


MAX_LINES = 500
#: Files over the limit because they are one cohesive class (the class must hold most of the file).
ONE_CLASS = {"genomics/records/fhir.py": "FhirReader"}


def test_source_files_stay_small():
    too_long = []
    for path in SOURCES.values():
        lines = path.read_text(encoding="utf-8").count("\n") + 1
        rel = path.relative_to(REPO).as_posix()
        if lines <= MAX_LINES:
            continue
        name = ONE_CLASS.get(rel)
        classes = {node.name: node for node in ast.parse(path.read_text(encoding="utf-8")).body
                   if isinstance(node, ast.ClassDef)}
        if name in classes and (classes[name].end_lineno - classes[name].lineno) >= 0.8 * lines:
            continue
        too_long.append(f"{rel}: {lines} lines")
    assert not too_long, f"source files over {MAX_LINES} lines (not one cohesive class):\n" + "\n".join(too_long)


def test_architecture_md_names_real_modules():
    """Every module ARCHITECTURE.md names in its package table exists, and every package module is named there."""
    text = (REPO / "ARCHITECTURE.md").read_text(encoding="utf-8")
    table = {row.split("|")[1].strip(" `/"): row.split("|")[2] for row in text.splitlines()
             if row.startswith("| `") and row.count("|") >= 3}
    assert set(table) == {"genomics", "models", "dashboard", "bench"}
    for package, cell in table.items():
        named = {t.strip().rstrip("/") for t in cell.split("`")[1::2]}  # the names in backticks
        modules = {p.relative_to(REPO / package).with_suffix("").as_posix()
                   for p in (REPO / package).rglob("*.py") if p.name not in ("__init__.py", "__main__.py")
                   and "__pycache__" not in p.parts}
        leaves = {part for m in modules for part in m.split("/")}
        missing = sorted(n for n in named if n not in leaves and n not in ("SurvivalModel",))
        unnamed = sorted(m for m in modules if m.split("/")[-1] not in named and m.split("/")[0] not in named)
        assert not missing, f"ARCHITECTURE.md names {package} modules that do not exist: {missing}"
        assert not unnamed, f"{package} modules missing from ARCHITECTURE.md: {unnamed}"
