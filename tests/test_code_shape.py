"""The shape of the code: short functions, and no import cycle among the app's modules (issue #15).

Static checks with `ast` (nothing is imported), so they run in well under a second.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_FUNCTION_LINES = 80
# Where no function may span more than MAX_FUNCTION_LINES lines (a folder, searched recursively, or a file).
SHORT_FUNCTION_ROOTS = ("ui", "app.py", "srgan")


def python_files(roots: tuple[str, ...] | list[str], base: Path = ROOT) -> list[Path]:
    files: list[Path] = []
    for root in roots:
        path = base / root
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return files


def long_functions(roots: tuple[str, ...] | list[str], limit: int = MAX_FUNCTION_LINES, base: Path = ROOT) -> list[str]:
    """ "path:line name (N lines)" for every function or method spanning more than `limit` lines.

    A function's span runs from its first decorator (or `def`) to its last line, nested functions included.
    """
    found = []
    for path in python_files(roots, base):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                span = node.end_lineno - first + 1
                if span > limit:
                    found.append(f"{path.relative_to(base)}:{node.lineno} {node.name} ({span} lines)")
    return found


@pytest.mark.parametrize("root", SHORT_FUNCTION_ROOTS)
def test_no_function_spans_more_than_80_lines(root):
    too_long = long_functions([root])
    assert not too_long, f"split these into named helpers (at most {MAX_FUNCTION_LINES} lines):\n" + "\n".join(too_long)


def test_the_length_check_sees_a_long_function(tmp_path):
    body = "\n".join(f"    x{k} = {k}" for k in range(MAX_FUNCTION_LINES))
    (tmp_path / "long.py").write_text(f"@staticmethod\ndef long():\n{body}\n\n\ndef short():\n    return 1\n")
    assert long_functions(["long.py"], base=tmp_path) == [f"long.py:2 long ({MAX_FUNCTION_LINES + 2} lines)"]


def ui_import_graph() -> dict[str, set[str]]:
    """{module: the ui modules it imports}, for every ui/*.py, counting imports inside functions too.

    `from . import lessons`, `from .compare import run_compare`, `import ui.compare` and
    `from ui import compare` all count as importing `compare`.
    """
    modules = {p.stem for p in (ROOT / "ui").glob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in sorted((ROOT / "ui").glob("*.py")):
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                package = node.module or ""
                if node.level == 1 or package == "ui" or package.startswith("ui."):
                    inside = package.removeprefix("ui").removeprefix(".") if node.level == 0 else package
                    if inside:
                        deps.add(inside.split(".")[0])
                    else:  # from . import a, b
                        deps.update(alias.name for alias in node.names)
            elif isinstance(node, ast.Import):
                deps.update(a.name.split(".")[1] for a in node.names if a.name.startswith("ui."))
        graph[path.stem] = (deps & modules) - {path.stem}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None."""
    state: dict[str, str] = {}  # "open" while on the current path, "done" after

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == "open":
                return path[path.index(dep) :] + [dep]
            if dep not in state and (cycle := visit(dep, [*path, dep])):
                return cycle
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [start])):
            return cycle
    return None


def test_no_import_cycle_among_the_ui_modules():
    graph = ui_import_graph()
    assert "compare" in graph["loss_lab"] and "common" in graph["components"]  # the graph sees both kinds
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_check_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def tab_modules() -> list[str]:
    """The ui modules that define a module-level build() (the tabs)."""
    names = []
    for path in sorted((ROOT / "ui").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(n, ast.FunctionDef) and n.name == "build" for n in tree.body):
            names.append(path.stem)
    return names


def test_the_readme_code_map_names_every_tab_module():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "## What is where" in text
    code_map = text.split("## What is where", 1)[1].split("\n## ", 1)[0]
    tabs = tab_modules()
    assert len(tabs) >= 9, tabs
    missing = [n for n in tabs if f"`{n}`" not in code_map and f"ui/{n}.py" not in code_map]
    assert not missing, f"README.md's 'What is where' does not name the tab module(s) {missing}"
