"""Liberty files in the form every tool here reads: unpacked (OpenSTA 2.0 cannot read .gz), one file."""
from __future__ import annotations

import functools
import gzip
import hashlib
import os
import re
from pathlib import Path

from ..pdks import REPO, PdkInfo

# absolute: tools run in their own node folders (a relative KAN_CACHE made OpenSTA miss the liberty)
CACHE = Path(os.environ.get("KAN_CACHE", REPO / "build" / ".cache")).absolute()


def _read(path: Path) -> str:
    return gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else path.read_text()


def prepared_liberty(pdk: PdkInfo) -> Path:
    """One unpacked typical-corner liberty for the PDK, cached by the content of its sources."""
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in pdk.liberty_files)).hexdigest()[:16]
    out = CACHE / "liberty" / f"{pdk.name}-{digest}.lib"
    if out.exists():
        return out
    if len(pdk.liberty_files) == 1:
        text = _read(pdk.liberty_files[0])
    else:
        text = merge_liberties([_read(p) for p in pdk.liberty_files])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(text)
    tmp.replace(out)
    return out


_GROUP = re.compile(r'(\w+)\s*\(\s*"?([^")]*?)"?\s*\)\s*\{')


def top_groups(text: str) -> tuple[int, int, list[tuple[str, str, int, int]]]:
    """(body start, body end, [(kind, name, start, end)]) of the groups directly inside `library (...) {}`.
    Braces are counted outside comments and strings only."""
    lib = _GROUP.search(text, re.search(r"^\s*library\s*\(", text, re.M).start())
    groups, depth, start = [], 1, None
    token = re.compile(r'/\*.*?\*/|"(?:\\.|[^"\\])*"|[{}]', re.S)
    for m in token.finditer(text, lib.end()):
        c = m.group(0)
        if c == "{":
            if depth == 1:
                start = text.rfind("\n", 0, m.start()) + 1
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 1:
                head = _GROUP.search(text, start, m.end())
                groups.append((head.group(1), head.group(2), start, m.end()))
            elif depth == 0:
                return lib.end(), m.start(), groups
    raise ValueError("liberty: unbalanced braces")


def merge_liberties(texts: list[str]) -> str:
    """Merge several liberty libraries into one (asap7 ships five; Yosys abc and single-liberty tools need
    one): the first library's header, then every non-cell group (templates, types) the first lacks, then all
    cells once. The first text must hold the buffers (asap7: INVBUF)."""
    body_start, body_end, groups = top_groups(texts[0])
    head = texts[0][:min([g[2] for g in groups if g[0] == "cell"], default=body_end)]
    have = {(k, n) for k, n, _, _ in groups if k != "cell"}
    extra, cells, seen = [], [], set()
    for i, text in enumerate(texts):
        parts = (body_start, body_end, groups) if i == 0 else top_groups(text)
        for kind, name, start, end in parts[2]:
            if kind == "cell" and name not in seen:
                seen.add(name)
                cells.append(text[start:end])
            elif kind != "cell" and i and (kind, name) not in have:
                have.add((kind, name))
                extra.append(text[start:end])
    return head + "\n".join(extra) + "\n" + "\n".join(cells) + "\n}\n"


@functools.cache
def cell_table(liberty: Path) -> dict[str, tuple[float, bool]]:
    """{cell: (area as the liberty states it, um^2 here; sequential?)} for every cell of the liberty."""
    text = Path(liberty).read_text(errors="replace")
    table = {}
    for kind, name, start, end in top_groups(text)[2]:
        if kind == "cell":
            body = text[start:end]
            area = re.search(r"^\s*area\s*:\s*([0-9.eE+-]+)", body, re.M)
            table[name] = (float(area.group(1)) if area else 0.0, bool(re.search(r"^\s*(ff|latch)\s*\(", body, re.M)))
    return table


_DIRECTION = re.compile(r'\bdirection\s*:\s*"?(\w+)"?')


@functools.cache
def pin_directions(liberty: Path) -> dict[str, dict[str, str]]:
    """{cell: {pin: input|output|inout|internal}} for every cell of the liberty (`pin (...)` groups; the
    first `direction` after a pin's header is its own: a pin states it before its timing groups)."""
    text = Path(liberty).read_text(errors="replace")
    table = {}
    for kind, name, start, end in top_groups(text)[2]:
        if kind == "cell":
            body = text[start:end]
            heads = [(m.group(1), m.end()) for m in re.finditer(r'\bpin\s*\(\s*"?([^")\s]+)"?\s*\)\s*\{', body)]
            table[name] = {}
            for k, (pin, pos) in enumerate(heads):
                stop = heads[k + 1][1] if k + 1 < len(heads) else len(body)
                found = _DIRECTION.search(body, pos, stop)
                if found:
                    table[name][pin] = found.group(1)
    return table


def stage_cells(liberty: Path) -> dict[str, str]:
    """{cell: its output pin} of the liberty's single-input, single-output cells: buffers and inverters (a
    flip-flop has a clock and a data input, a tie cell none)."""
    return {cell: next(p for p, d in pins.items() if d == "output")
            for cell, pins in pin_directions(liberty).items() if sorted(pins.values()) == ["input", "output"]}
