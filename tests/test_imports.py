"""No import cycle among the project's modules, counting imports inside functions too (a lazy import still
ties two modules together)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ggm_core", "ggm_app", "training", "tools")
# who may import whom: the library stands alone, the app uses the library, training the library, and the
# developer tools anything
ALLOWED = {"ggm_core": {"ggm_core"}, "ggm_app": {"ggm_core", "ggm_app"}, "training": {"ggm_core", "training"},
           "app": {"ggm_core", "ggm_app"}}  # fmt: skip


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_imports(path: Path, modules: set[str]) -> set[str]:
    """The project modules ``path`` imports (``from a.b import c`` counts a.b, and a.b.c when c is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        found |= {n for n in names if n in modules}
    return found


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    files["app"] = ROOT / "app.py"
    modules = set(files)
    graph = {}
    for name, path in files.items():
        # a package's __init__ re-exports its modules: importing the package is not importing them all
        graph[name] = {m for m in project_imports(path, modules) if m != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_checker_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_among_project_modules():
    graph = import_graph()
    assert {"ggm_core.checkpoint", "ggm_core.ggm.model", "training.judge", "training.train"} <= set(graph)
    cycle = find_cycle(graph)
    assert cycle is None, " → ".join(cycle)


def test_layers_import_only_what_they_may():
    """No training module imports the app or a tool (a benchmark that drives the app is a tool), the app imports
    no training module, and the library imports neither."""
    wrong = [
        f"{name} imports {target}"
        for name, targets in import_graph().items()
        for target in targets
        if name.split(".")[0] in ALLOWED and target.split(".")[0] not in ALLOWED[name.split(".")[0]]
    ]
    assert wrong == []


def family_mentions(path: Path, families: dict[str, type]) -> list[str]:
    """Where ``path``'s code names a family: an import of a family's package or class, or a string that is a family's
    name (a comparison or a table key); prose that mentions one is not code."""
    packages = {cls.__module__.rsplit(".", 1)[0] for cls in families.values()}
    classes = {cls.__name__ for cls in families.values()}
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = {alias.name for alias in node.names}
            if any(node.module == p or node.module.startswith(p + ".") for p in packages) or names & classes:
                found.append(f"{path.name}:{node.lineno} imports {node.module}: {sorted(names)}")
        elif isinstance(node, ast.Import) and any(a.name.startswith(tuple(packages)) for a in node.names):
            found.append(f"{path.name}:{node.lineno} imports {[a.name for a in node.names]}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.lower() in families:
            found.append(f"{path.name}:{node.lineno} names the family {node.value!r}")
        elif isinstance(node, ast.Name) and node.id in classes:
            found.append(f"{path.name}:{node.lineno} uses {node.id}")
    return found


def test_the_app_names_no_family_but_through_the_registry():
    """The app asks the family (its knobs, progress words, belief, the ``final`` flag on events) and never tests
    which family it holds: a family registered outside the project runs in it unchanged (tests/test_fourth_family.py).
    """
    from ggm_core.registry import FAMILIES

    assert {"ggm", "md4", "blackout"} <= set(FAMILIES)
    code = [ROOT / "app.py", *sorted((ROOT / "ggm_app").rglob("*.py"))]
    assert [m for path in code for m in family_mentions(path, FAMILIES)] == []


def test_the_family_checker_finds_a_mention(tmp_path):
    from ggm_core.registry import FAMILIES

    sample = tmp_path / "sample.py"
    sample.write_text('from ggm_core.md4 import sample_masked\nif model.family == "blackout":\n    pass\n')
    assert len(family_mentions(sample, FAMILIES)) == 2


def training_scripts() -> set[str]:
    """The modules of training/ that are commands (``python -m training.X``): those with a ``__main__`` block."""
    return {
        module_name(path)
        for path in (ROOT / "training").glob("*.py")
        if 'if __name__ == "__main__":' in path.read_text(encoding="utf-8")
    }


def test_training_is_a_library_and_its_scripts():
    """training/ is a library (config, data, the Trainer, metrics, the judge, …) and the commands that use it: no
    module of it imports a command (a command's reusable part lives in a library module)."""
    scripts = training_scripts()
    assert {"training.train", "training.prepare_text", "training.benchmark_gaps"} <= scripts
    assert "training.trainer" not in scripts and "training.corpus" not in scripts
    wrong = [
        f"{name} imports the command {target}"
        for name, targets in import_graph().items()
        if name.startswith("training.")
        for target in targets
        if target in scripts
    ]
    assert wrong == []
