"""``import rnnlab`` is light and leaves matplotlib alone; the measures do not reach up.

The import facts are checked in a fresh interpreter, where nothing else has been imported yet.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "rnnlab"
HEAVY = ("matplotlib", "numba", "scipy", "torch", "llvmlite")
# what the pure layers below the trainer must never import
PURE = ("cells", "kernels", "diagnostics")
FORBIDDEN = (
    "matplotlib",
    "rnnlab.train",
    "rnnlab.training",
    "rnnlab.checkpoint",
    "rnnlab.figures",
    "rnnlab.cli",
)


def _python(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON object as its last line."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


_LOADED = f"""
import sys
def loaded():
    return sorted(
        m for m in sys.modules
        if m.split(".")[0] in {HEAVY!r}
        or m.startswith("rnnlab.kernels.") and not m.rsplit(".", 1)[1].startswith("_")
    )
"""


def test_import_rnnlab_loads_no_matplotlib_numba_or_kernels():
    r = _python(
        _LOADED
        + """
import json, time
t0 = time.perf_counter()
import rnnlab
seconds = time.perf_counter() - t0
after_import = loaded()
layer = rnnlab.LSTM(2, 3, rng=0)  # building a layer needs no kernel yet
after_layer = loaded()
print(json.dumps({"seconds": seconds, "after_import": after_import, "after_layer": after_layer}))
"""
    )
    assert r["after_import"] == []
    assert r["after_layer"] == []
    # generous, so that a loaded machine passes; Numba alone takes longer than this bound's
    # share of a second on a quiet one, and the list above catches it anyway
    assert r["seconds"] < 1.0


def test_a_command_imports_only_what_it_runs():
    # the group imports a sub-command's module when that command runs: `rnnlab train` loads
    # neither the forecasting models (scipy) nor the sweep's cluster code nor matplotlib up
    # front (the loss curve imports it at the end)
    heavy = ("rnnlab.forecast", "rnnlab.sweep", "rnnlab.figures", "matplotlib", "scipy", "dask")
    loaded = _python(
        "import json, sys, rnnlab.cli, rnnlab.cli.train\n"
        "assert rnnlab.cli.main(['tasks']) == 0\n"
        f"print(json.dumps([m for m in {heavy!r} if m in sys.modules]))"
    )
    assert loaded == []


def test_public_names_resolve_on_first_use():
    r = _python(
        """
import json
import rnnlab
names = {
    "LSTM": rnnlab.LSTM.__name__,
    "check_layer": rnnlab.gradcheck.check_layer.__name__,
    "from_torch": rnnlab.interop.from_torch.__name__,
    "Adam": rnnlab.Adam.__name__,
    "get_task": rnnlab.get_task.__name__,
    "diagnostics": rnnlab.diagnostics.__name__,
}
print(json.dumps({"names": names, "dir": dir(rnnlab), "all": rnnlab.__all__}))
"""
    )
    assert r["names"] == {
        "LSTM": "LSTM",
        "check_layer": "check_layer",
        "from_torch": "from_torch",
        "Adam": "Adam",
        "get_task": "get_task",
        "diagnostics": "rnnlab.diagnostics",
    }
    assert {"LSTM", "train", "TrainConfig", "figures", "gradcheck"} <= set(r["all"])
    assert set(r["all"]) <= set(r["dir"])


def test_unknown_name_is_an_attribute_error():
    import rnnlab

    with pytest.raises(AttributeError, match="no_such_name"):
        rnnlab.no_such_name  # noqa: B018


@pytest.mark.parametrize("chosen", [None, "svg"])
def test_matplotlib_backend_is_left_alone(chosen):
    # the raw rcParams entry: reading it through get_backend() would itself resolve it
    r = _python(
        f"""
import json, os, sys, tempfile
import matplotlib
if {chosen!r} is not None:
    matplotlib.use({chosen!r})
raw = lambda: str(dict.__getitem__(matplotlib.rcParams, "backend"))
before = raw()
import rnnlab
after_import = raw()
from rnnlab.figures import plot_training
path = os.path.join(tempfile.mkdtemp(), "g.png")
plot_training(
    {{"step": [1, 2, 3], "grad_norm": [1.0, 2.0, 50.0], "running_median": [1.0, 1.0, 1.5],
      "events": [2], "factor": 10.0, "window": 5}},
    path,
    clip=1.0,
)
with open(path, "rb") as fh:
    png = fh.read(8) == b"\\x89PNG\\r\\n\\x1a\\n"
print(json.dumps({{"before": before, "after_import": after_import, "after_figure": raw(),
                  "png": png, "pyplot": "matplotlib.pyplot" in sys.modules,
                  "leftovers": sorted(os.listdir(os.path.dirname(path)))}}))
"""
    )
    assert r["after_import"] == r["before"]
    assert r["after_figure"] == r["before"]
    assert r["png"] and r["leftovers"] == ["g.png"]
    assert not r["pyplot"]


def _imports(path: Path) -> list[str]:
    """Every module ``path`` imports (absolute names, at any depth in the file)."""
    rel = path.relative_to(SRC.parent).with_suffix("")
    package = list(rel.parts[:-1])  # a module's package; for __init__ the package itself
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.append(mod)
            found += [f"{mod}.{a.name}" for a in node.names]
    return found


def _forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


def test_measures_do_not_import_trainer_runs_figures_or_cli():
    files = [p for sub in PURE for p in sorted((SRC / sub).rglob("*.py"))]
    assert len(files) > 10
    bad = {
        str(p.relative_to(SRC)): hits
        for p in files
        if (hits := sorted({m for m in _imports(p) if _forbidden(m)}))
    }
    assert bad == {}


def test_import_scanner_sees_relative_and_nested_imports(tmp_path):
    """The static check above would catch what it is for."""
    pkg = SRC / "diagnostics"
    probe = pkg / "_probe_for_import_test.py"
    code = "def f():\n    from ..training import train\n    from .. import figures\n"
    assert not probe.exists()
    try:
        probe.write_text(code)
        found = _imports(probe)
    finally:
        probe.unlink()
    assert "rnnlab.training" in found and "rnnlab.figures" in found


def _module_graph() -> dict[str, set[str]]:
    """rnnlab module -> the rnnlab modules it imports (at any depth in the file, but not under
    ``if TYPE_CHECKING:``); ``from . import sub`` counts as importing ``sub`` only."""
    mods: dict[str, tuple[Path, bool]] = {}
    for p in SRC.rglob("*.py"):
        parts = list(p.relative_to(SRC.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        mods[".".join(parts[:-1] if is_pkg else parts)] = (p, is_pkg)

    def typing_only(tree: ast.AST) -> set[int]:
        skip = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                skip |= {id(n) for b in node.body for n in ast.walk(b)}
        return skip

    graph: dict[str, set[str]] = {}
    for name, (path, is_pkg) in mods.items():
        package = name.split(".") if is_pkg else name.split(".")[:-1]
        tree = ast.parse(path.read_text())
        skip = typing_only(tree)
        found: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                mod = ".".join(base + ([node.module] if node.module else []))
                subs = {f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in mods}
                found |= subs | ({mod} if len(subs) < len(node.names) else set())
        edges = set()
        for m in found:
            while m and m not in mods:
                m = m.rpartition(".")[0]
            if m and m != name:
                edges.add(m)
        graph[name] = edges
    return graph


def test_no_import_circles():
    graph = _module_graph()
    assert "rnnlab.training.trainer" in graph["rnnlab.training.api"]  # the scanner sees edges
    circles, done = [], set()

    def walk(node: str, path: list[str]) -> None:
        if node in path:
            circles.append(path[path.index(node) :] + [node])
            return
        if node in done:
            return
        for nxt in sorted(graph[node]):
            walk(nxt, path + [node])
        done.add(node)

    for start in sorted(graph):
        walk(start, [])
    assert circles == []


def test_figures_draw_only():
    """The trainer draws its loss curve with rnnlab.figures, so figures import nothing above the
    measures: no trainer, run folder, report or command line."""
    graph = _module_graph()
    above = ("rnnlab.training", "rnnlab.reports", "rnnlab.cli", "rnnlab.checkpoint")
    bad = {
        m: sorted(e for e in edges if e.startswith(above))
        for m, edges in graph.items()
        if m.startswith("rnnlab.figures")
    }
    assert {m: e for m, e in bad.items() if e} == {}


def test_every_name_the_readme_uses_resolves_after_a_plain_import():
    readme = (SRC.parents[1] / "README.md").read_text()
    names = sorted(set(re.findall(r"\brnnlab(?:\.[A-Za-z_][A-Za-z_0-9]*)+", readme)))
    assert "rnnlab.train" in names and len(names) > 10
    code = (
        "import importlib, importlib.util, json, rnnlab\n"
        f"names = {names!r}\n"
        "bad = []\n"
        "for n in names:\n"
        "    obj, parts = rnnlab, n.split('.')[1:]\n"
        "    try:\n"
        "        for i, part in enumerate(parts):\n"
        "            # a module the README names as a module (docs of a submodule) is imported\n"
        "            sub = '.'.join(['rnnlab', *parts[: i + 1]])\n"
        "            if not hasattr(obj, part) and importlib.util.find_spec(sub):\n"
        "                importlib.import_module(sub)\n"
        "            obj = getattr(obj, part)\n"
        "    except (AttributeError, ModuleNotFoundError):\n"
        "        bad.append(n)\n"
        "print(json.dumps({'bad': bad}))\n"
    )
    assert _python(code)["bad"] == []
