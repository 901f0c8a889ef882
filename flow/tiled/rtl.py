"""What the tiled flow reads from the generated RTL: one module's text, its port directions, and the names of a
port's bits as the netlists, LEFs and DEFs of the array write them."""
from __future__ import annotations

import re


def bits(name: str, width: int) -> list[str]:
    """The bit names of port `name`: `name[k]` for a bus, `name` alone for a single bit."""
    return [f"{name}[{k}]" for k in range(width)] if width > 1 else [name]


def module_text(rtl: str, module: str) -> str:
    """The text of `module` (from `module <name>(` to its `endmodule`) in the generated RTL."""
    m = re.search(rf"^module {module}\(.*?^endmodule", rtl, re.S | re.M)
    return m.group(0)


def port_directions(module: str) -> dict[str, str]:
    """{port bit: 'INPUT' | 'OUTPUT'} of one module's text (its input/output declarations)."""
    out = {}
    decl = r"^\s*(input|output)\s+(?:reg\s+|wire\s+)?(?:signed\s+)?(?:\[(\d+):0\]\s+)?(\w+)"
    for kind, width, name in re.findall(decl, module, re.M):
        for b in bits(name, int(width) + 1 if width else 1):
            out[b] = kind.upper()
    return out
