"""The package layout's dependency rules (docs/architecture.md), read from the imports themselves.

Every import of `jit` or `tb` in `jit/`, `tb/` and `tools/` is resolved to the subpackage it names,
function-level imports included; the rules below must hold for all of them.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from jit.paths import PROJECT_ROOT

# What each layer of `jit` may import besides itself and the root package `jit` (JitnicError).
# Dependencies run one way, from the command line down to the eBPF toolchain.
ALLOWED = {
    "jit.ebpf": set(),
    "jit.traffic": set(),
    "jit.nic": {"jit.ebpf"},
    "jit.compiler": {"jit.ebpf", "jit.nic"},
    "jit.host": {"jit.ebpf", "jit.nic", "jit.compiler"},
    "jit.paths": set(),
    "jit.cli": {"jit.ebpf", "jit.traffic", "jit.nic", "jit.compiler", "jit.host", "jit.paths", "tb"},
    # the testbenches use the core (model, encodings, interpreter) but never the command line
    "tb": {"jit.ebpf", "jit.traffic", "jit.nic", "jit.compiler", "jit.host", "jit.paths"},
}
ROOT_MODULES = {"__init__.py", "__main__.py", "paths.py"}   # everything else lives in a subpackage


def unit_of(module: str) -> str:
    """The layer a dotted module name belongs to: `jit.nic.model` -> `jit.nic`, `tb.common.nic` -> `tb`."""
    parts = module.split(".")
    if parts[0] == "tb":
        return "tb"
    if parts[0] == "tools":
        return "tools"
    return ".".join(parts[:2]) if len(parts) > 1 else "jit"


def module_name(path: Path) -> str:
    rel = path.relative_to(PROJECT_ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def resolves(dotted: str) -> bool:
    base = PROJECT_ROOT.joinpath(*dotted.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def imports_of(source: str, filename: str = "<probe>") -> list[tuple[int, str]]:
    """(line, target module) for every absolute import of the project's packages in `source`."""
    out = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] in ("jit", "tb")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.split(".")[0] in ("jit", "tb"):
            for a in node.names:   # `from jit import ebpf` names a package, `from jit import X` a symbol
                sub = f"{node.module}.{a.name}"
                out.append((node.lineno, sub if resolves(sub) else node.module))
    return out


def project_files() -> list[Path]:
    files = []
    for top in ("jit", "tb", "tools"):
        files += sorted((PROJECT_ROOT / top).rglob("*.py"))
    return files


def sources() -> list[tuple[str, str, str]]:
    """(module name, file name, text) of every project module."""
    return [(module_name(p), str(p.relative_to(PROJECT_ROOT)), p.read_text()) for p in project_files()]


def dependency_edges(modules=None) -> list[tuple[str, str, str]]:
    """(importing unit, imported unit, 'file:line') for every cross-unit import."""
    edges = []
    for name, filename, text in (sources() if modules is None else modules):
        src = unit_of(name)
        for line, target in imports_of(text, filename):
            dst = unit_of(target)
            if dst not in (src, "jit"):
                edges.append((src, dst, f"{filename}:{line}"))
    return edges


def test_every_import_target_exists():
    missing = [f"{filename}:{line} imports {t}" for _, filename, text in sources()
               for line, t in imports_of(text, filename) if not resolves(t)]
    assert not missing, "\n".join(missing)


def test_flat_modules_do_not_creep_back():
    flat = sorted(p.name for p in (PROJECT_ROOT / "jit").glob("*.py") if p.name not in ROOT_MODULES)
    assert not flat, f"jit/ root holds {flat}: put them in the subpackage of their role"


def test_layers_import_only_what_they_may():
    bad = [f"{where}: {src} imports {dst}" for src, dst, where in dependency_edges()
           if src in ALLOWED and dst not in ALLOWED[src]]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("layer", ["jit.ebpf", "jit.traffic", "jit.nic", "jit.compiler", "jit.host"])
def test_core_never_imports_tb(layer):
    assert not [w for s, d, w in dependency_edges() if s == layer and d == "tb"]


def test_no_cycles_between_subpackages():
    graph: dict[str, set[str]] = {}
    for src, dst, _ in dependency_edges():
        graph.setdefault(src, set()).add(dst)

    def cycle_from(node, stack, done):
        if node in stack:
            return stack[stack.index(node):] + [node]
        if node in done:
            return None
        done.add(node)
        for nxt in sorted(graph.get(node, ())):
            found = cycle_from(nxt, stack + [node], done)
            if found:
                return found
        return None

    done: set[str] = set()
    for start in sorted(graph):
        found = cycle_from(start, [], done)
        assert found is None, " -> ".join(found)


def test_rules_themselves_have_no_cycle():
    """ALLOWED must be a partial order, or the cycle test above could pass only by luck."""
    order: list[str] = []
    remaining = {k: set(v) & set(ALLOWED) for k, v in ALLOWED.items()}
    while remaining:
        ready = [k for k, deps in remaining.items() if deps <= set(order)]
        assert ready, f"cyclic rules among {sorted(remaining)}"
        order += sorted(ready)
        for k in ready:
            del remaining[k]


def test_the_checker_sees_a_violation():
    """Function-level imports of the testbenches, the CLI and a symbol of another layer are all
    caught (the rule test is not vacuous)."""
    probe = ("jit.nic.probe", "probe.py",
             "from jit import JitnicError\nfrom jit import host\n"
             "def f():\n    from tb.common.nic import NicTb\n    from jit.cli import main\n")
    found = {(s, d) for s, d, _ in dependency_edges([probe])}
    assert found == {("jit.nic", "tb"), ("jit.nic", "jit.cli"), ("jit.nic", "jit.host")}
