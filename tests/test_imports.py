"""Imports between the packages go one way (flow -> kan -> config_schema, rtl_gen at the bottom), and no module uses
another module's private names (`from x import _y`, `x._y`): read from the sources with ast, no import runs."""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OURS = ("flow", "kan", "config_schema", "rtl_gen", "bench", "tests")
# package -> the packages of ours it must never import
FORBIDDEN = {"kan": {"flow", "bench"}, "config_schema": {"flow", "kan", "bench"}, "rtl_gen": {"flow", "kan", "bench"}}


def _module_of(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> list[tuple[int, str, list[tuple]]]:
    """(line, absolute module, [(name, local name)] imported from it; [] for `import x`) of every import statement
    in `source` (of module `module`), at any depth: inside functions and `if TYPE_CHECKING:` blocks too."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            name = ".".join(base + ([node.module] if node.module else []))
            out.append((node.lineno, name, [(a.name, a.asname or a.name) for a in node.names]))
    return out


def forbidden_imports(source: str, module: str, is_package: bool = False) -> list[str]:
    """'line: module' for each import of a package that `module`'s package must not import (FORBIDDEN)."""
    banned = FORBIDDEN.get(module.split(".")[0], set())
    return [f"{line}: {name}" for line, name, _ in imported_modules(source, module, is_package)
            if name.split(".")[0] in banned]


def private_uses(source: str, module: str, is_package: bool = False) -> list[str]:
    """'line: text' for each private name of another of our modules this source uses: `from ours import _x`, or
    `alias._x` where `alias` is a module (or anything else) it imported from ours."""
    out, aliases = [], set()
    for line, name, names in imported_modules(source, module, is_package):
        if name.split(".")[0] not in OURS:
            continue
        if not names:                   # import flow.tools.x: used as flow.tools.x._y
            aliases.add(name.split(".")[0])
        for n, local in names:
            if n.startswith("_") and not n.startswith("__"):
                out.append(f"{line}: from {name} import {n}")
            aliases.add(local)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in aliases:
                out.append(f"{node.lineno}: {ast.unparse(node)}")
    return sorted(out, key=lambda hit: int(hit.split(":")[0]))


def _sources():
    for package in OURS:
        for path in sorted((REPO / package).rglob("*.py")):
            yield path, path.read_text(), _module_of(path), path.name == "__init__.py"


def test_imports_go_one_way():
    found = [f"{path.relative_to(REPO)}:{hit}" for path, text, module, pkg in _sources()
             for hit in forbidden_imports(text, module, pkg)]
    assert found == []


def test_no_private_names_across_modules():
    found = [f"{path.relative_to(REPO)}:{hit}" for path, text, module, pkg in _sources()
             for hit in private_uses(text, module, pkg)]
    assert found == []


def test_the_checks_find_what_they_forbid():
    """Each kind of forbidden import and private use is found, relative imports resolved, third-party private
    names (argparse._SubParsersAction) left alone."""
    src = "from flow.config import Config\nimport flow.verify\ndef f():\n    from flow import tiled\n"
    assert forbidden_imports(src, "kan.accuracy") == ["1: flow.config", "2: flow.verify", "4: flow"]
    assert forbidden_imports("from ..errors import ToolFailed\n", "kan.gpu.x") == []        # kan.errors
    assert forbidden_imports("from .errors import FlowError\n", "config_schema.keys") == []
    assert forbidden_imports("from kan import accuracy_for\n", "flow.physical") == []      # the allowed direction
    assert forbidden_imports("from kan import quantize\n", "config_schema.kan") == ["1: kan"]
    src = ("import argparse\nfrom .liberty import _top_groups\nfrom ..tools import floorplan as fp\n"
           "fp._align(1)\nargparse._SubParsersAction\nimport flow.tools.die_plot\nflow.tools.die_plot._routes\n")
    assert private_uses(src, "flow.tools.qflow_pnr") == ["2: from flow.tools.liberty import _top_groups",
                                                         "4: fp._align", "7: flow.tools.die_plot._routes"]
