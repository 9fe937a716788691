"""The package stays assignment-agnostic and layered: every import goes to the same or a lower layer (the
order ARCHITECTURE.md gives), no import cycles, no assignment's names in it."""
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


# lowest first; a module may import its own layer and those before it (gradekit/__init__.py and
# gradekit/__main__.py sit above them all)
LAYERS = ("core", "plugins", "records", "grading", "authoring", "apps")


def layer_of(module: str) -> int:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 2 or (len(parts) == 2 and parts[1] in LAYERS) else len(LAYERS)


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{m} ({LAYERS[layer_of(m)] if layer_of(m) < len(LAYERS) else 'top'}) imports {t} "
                  f"({LAYERS[layer_of(t)] if layer_of(t) < len(LAYERS) else 'top'})"
                  for m, targets in graph.items() for t in targets if layer_of(t) > layer_of(m))


def test_every_module_sits_in_a_layer():
    stray = [m for m in import_graph() if layer_of(m) == len(LAYERS) and m not in ("gradekit", "gradekit.__main__")]
    assert not stray, f"modules outside the layers {LAYERS}: {stray}"
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"} == set(LAYERS)


def test_imports_go_downward_through_the_layers():
    graph = import_graph()
    assert "gradekit.records.results" in graph["gradekit.records.export"]  # the graph sees imports at all
    assert not upward_imports(graph), "\n".join(upward_imports(graph))


def test_the_layer_check_finds_an_upward_import():
    graph = import_graph()
    graph["gradekit.core.layout"] = graph["gradekit.core.layout"] | {"gradekit.grading.batch"}
    assert upward_imports(graph) == ["gradekit.core.layout (core) imports gradekit.grading.batch (grading)"]


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
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


def test_the_distribution_holds_every_package(monkeypatch):
    """What pip installs from pyproject.toml (not only the editable checkout) has every folder of the package."""
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    monkeypatch.chdir(PACKAGE.parent)  # setuptools finds packages from the project's folder
    folders = {_module_name(p) for p in PACKAGE.rglob("__init__.py")}
    distributed = set(apply_configuration(Distribution(), PACKAGE.parent / "pyproject.toml").packages)
    assert folders <= distributed, sorted(folders - distributed)


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
