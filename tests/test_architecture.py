"""The layer contract (docs/architecture.md, ``[tool.twintake.layers]`` in pyproject.toml): no
import cycles and no upward imports, lazy imports inside functions included; and the size and
single-frame-loop rules of the layout."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = "twintake"


# ------------------------------------------------------------------------------ the checker
def module_graph(src: Path, package: str) -> dict[str, set[str]]:
    """Every module of ``package`` under ``src`` -> the package modules it imports (any import
    statement anywhere in the file, resolved to the most specific existing module)."""
    files = {}
    for f in (src / package).rglob("*.py"):
        parts = list(f.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        files[".".join(parts)] = f
    modules = set(files)

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, f in files.items():
        is_pkg = f.name == "__init__.py"
        here = mod if is_pkg else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    stem = ".".join(base + ([node.module] if node.module else []))
                else:
                    stem = node.module or ""
                targets = [f"{stem}.{a.name}" for a in node.names] or [stem]
            for t in targets:
                if t == package or t.startswith(package + "."):
                    r = resolve(t)
                    if r and r != mod and r != package:
                        graph[mod].add(r)
    graph.pop(package, None)  # the root's lazy public API is not a layer
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def layer_of(module: str, layers: list[list[str]]) -> int | None:
    for i, group in enumerate(layers):
        if any(module == m or module.startswith(m + ".") for m in group):
            return i
    return None


def violations(graph: dict[str, set[str]], layers: list[list[str]]) -> list[str]:
    """Imports that go up the layers (layer 0 is the top), and modules in no layer."""
    bad = []
    for mod in sorted(graph):
        a = layer_of(mod, layers)
        if a is None:
            bad.append(f"{mod} is in no layer")
            continue
        for dep in sorted(graph[mod]):
            b = layer_of(dep, layers)
            if b is not None and b < a:
                bad.append(f"{mod} (layer {a}) imports {dep} (layer {b}, above it)")
    return bad


def contract() -> list[list[str]]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["twintake"]["layers"]["layers"]


# ------------------------------------------------------------------------------ the tests
@pytest.fixture(scope="module")
def graph():
    return module_graph(SRC, PACKAGE)


def test_no_import_cycles(graph):
    assert cycles(graph) == []


def test_layers_are_respected(graph):
    assert violations(graph, contract()) == []


def test_checker_catches_an_added_cycle(graph):
    """The checks fail when a cycle is added: media importing the render stream (which imports
    media) is both a cycle and an upward import."""
    g = {k: set(v) for k, v in graph.items()}
    g["twintake.media.decode"].add("twintake.render.stream")
    found = cycles(g)
    assert any("twintake.media.decode" in c and "twintake.render.stream" in c for c in found)
    assert any("twintake.media.decode" in v and "imports twintake.render.stream" in v
               for v in violations(g, contract()))


def test_checker_reads_lazy_and_relative_imports(tmp_path):
    """A cycle made of a lazy (in-function) relative import is found in real files."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..a import x\n    return x\n")
    g = module_graph(tmp_path, "pkg")
    assert g["pkg.a"] == {"pkg.sub.b"} and g["pkg.sub.b"] == {"pkg.a"}
    assert cycles(g) == [["pkg.a", "pkg.sub.b"]]


def test_every_module_has_a_layer(graph):
    layers = contract()
    assert [m for m in graph if layer_of(m, layers) is None] == []


def test_no_module_over_500_lines():
    """Modules stay readable (the stored GFPGAN architecture, a transcription of the published
    network, is the one allowed exception up to 600)."""
    long = {str(f.relative_to(SRC)): n for f in (SRC / PACKAGE).rglob("*.py")
            if (n := len(f.read_text().splitlines())) > 500}
    assert long == {}


def test_only_the_stream_loops_over_output_frames():
    """Writing video frames (``.write(`` on a VideoWriter) happens in render/stream.py and in
    media (encoding utilities), nowhere else."""
    writers = []
    for f in (SRC / PACKAGE).rglob("*.py"):
        rel = f.relative_to(SRC / PACKAGE).as_posix()
        if rel.startswith("media/") or rel == "render/stream.py":
            continue
        if re.search(r"VideoWriter\(", f.read_text()):
            writers.append(rel)
    assert writers == []
