"""The package stays assignment-agnostic and layered: no import cycles, no assignment's names in it."""
from __future__ import annotations

import ast
from pathlib import Path

import gradekit

PACKAGE = Path(gradekit.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """{module: gradekit modules it imports}, counting imports inside functions too."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    targets.add(full if full in modules else base)
            elif isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    assert "gradekit.results" in graph["gradekit.export"] and "gradekit.batch" not in graph["gradekit.export"]
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_package_names_no_assignment():
    """What is specific to an assignment lives with it (source/<assignment>/kit, probes), not in the package."""
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        for word in ("assignment1", "mlp_utils", "1_mlp_numpy", "2_mlp_pytorch", "MLP"):
            assert word not in text, f"{path.relative_to(PACKAGE.parent)} names {word!r}"


def test_the_linter_runs_clean():
    """ruff (pinned in requirements.txt, configured in pyproject.toml) over the package, the tests, the
    benchmarks, the deployment and the assignment's Python files."""
    import subprocess
    import sys

    root = PACKAGE.parent
    ruff = Path(sys.executable).parent / "ruff"
    done = subprocess.run([str(ruff), "check", "--no-cache", "--output-format", "concise", "."], cwd=root,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-1000:]


def test_the_linter_finds_an_undefined_name(tmp_path):
    import subprocess
    import sys

    (tmp_path / "bad.py").write_text("def f():\n    return undefined_name\n")
    ruff = Path(sys.executable).parent / "ruff"
    done = subprocess.run([str(ruff), "check", "--no-cache", "--isolated", "--select", "F", str(tmp_path / "bad.py")],
                          capture_output=True, text=True)
    assert done.returncode == 1 and "F821" in done.stdout, done.stdout
