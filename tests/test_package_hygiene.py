"""The packages' structure: no import cycles among the modules of snn and hardware_models,
and importing any module changes no process-wide state (matplotlib's backend, torch's and
numpy's global random generators, the warning filters)."""

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("snn", "hardware_models")


def _module_files() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules of the packages it imports, wherever the import statement is
    (inside functions too: a deferred import still ties the two modules together), except
    under ``if TYPE_CHECKING:``."""
    edges = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        typing_only = {id(n) for node in ast.walk(tree)
                       if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                       for statement in node.body for n in ast.walk(statement)}
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                    base = base[:len(base) - (node.level - 1)]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                targets = [source] + [f"{source}.{alias.name}" for alias in node.names]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                # A module importing its own package (or a parent) is not an edge: the parent
                # is already loading when the child runs.
                if target and target != name and not name.startswith(target + "."):
                    edges[name].add(target)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
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


def test_the_cycle_finder_finds_a_cycle():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(edges) == [["a", "b", "c"]]


def test_no_import_cycles():
    modules = _module_files()
    assert "snn.cli" in modules and "hardware_models.convert" in modules
    assert _cycles(_import_graph(modules)) == []


_PROBE = r"""
import importlib, json, sys, warnings
import matplotlib, numpy, torch

def backend():
    # The raw setting: reading it through get_backend() would itself resolve it.
    return str(matplotlib.rcParams._get("backend"))

before = dict(backend=backend(), torch=torch.get_rng_state().tolist(),
              numpy=str(numpy.random.get_state()), filters=repr(warnings.filters),
              pyplot="matplotlib.pyplot" in sys.modules)
changed, missing = {}, {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as error:  # an optional dependency (triton, brian2, ...)
        if error.name.split(".")[0] in ("snn", "hardware_models"):
            raise
        missing[name] = error.name
        continue
    now = dict(backend=backend(), torch=torch.get_rng_state().tolist(),
               numpy=str(numpy.random.get_state()), filters=repr(warnings.filters),
               pyplot="matplotlib.pyplot" in sys.modules)
    diff = [key for key in before if now[key] != before[key]]
    if diff:
        changed[name] = diff
        before = now
print(json.dumps(dict(changed=changed, missing=missing)))
"""


def test_importing_any_module_changes_no_global_state():
    # ``__main__`` modules run a program when imported; they are not library modules.
    modules = sorted(m for m in _module_files() if not m.endswith(".__main__"))
    done = subprocess.run([sys.executable, "-c", _PROBE, *modules], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["changed"] == {}
    # Only optional dependencies may be missing, never most of the package.
    assert len(report["missing"]) <= 3, report["missing"]
