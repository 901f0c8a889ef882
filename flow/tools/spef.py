"""Fix the SPEF that qflow's rc2dly writes from qrouter's .rc file so Debian OpenSTA 2.0 reads it cleanly.

rc2dly (qflow 1.3.17) writes, and this fixes:
  - net names as in the BLIF (`a.b[3]`, `x_bF$buf2`) where blif2Verilog's netlist uses `_` for each of
    `. [ ] $` (`a_b_3_`, `x_bF_buf2`); only top-level port bits (`y[3]`) keep their brackets;
  - internal nodes as `N_K` instead of `*N<delimiter>K` (OpenSTA then floods "pin not found");
  - `*C_UNIT 1 FF` while every capacitance it writes is in pF;
  - `*BUS_DELIMITER <>` while the names use `[]`.
"""
from __future__ import annotations

import re
from pathlib import Path

_NODE = re.compile(r"(?<=\s)(\d+)_(\d+)(?=\s|$)")
_UNSAFE = re.compile(r"[.\[\]$]")


def _section(lines: list[str], name: str) -> range:
    """Line range of a `*NAME` section up to the next section keyword (or the first *D_NET)."""
    start = next((i for i, l in enumerate(lines) if l.strip() == name), None)
    if start is None:
        return range(0)
    end = next((i for i in range(start + 1, len(lines))
                if lines[i].startswith("*") and not re.match(r"\*\d+\s", lines[i])), len(lines))
    return range(start + 1, end)


def _rc2dly_overflows(name: str) -> bool:
    """rc2dly copies each net name into calloc(strlen(name)) (no room for the NUL; valgrind: one invalid
    1-byte write per net). glibc rounds a request up to 24 + 16k usable bytes, so the NUL lands in the next
    chunk's header exactly when the length is 24 + 16k: the heap breaks and rc2dly aborts later (an 8x8
    array's glue has 40-character net names)."""
    return len(name) >= 24 and len(name) % 16 == 8


def rc2dly_safe_rc(src: Path, dst: Path) -> dict[str, str]:
    """Copy qrouter's .rc file to `dst` with every net name rc2dly would overflow on lengthened by `_` (to a
    name no other net or instance has). -> {lengthened name: original}, for fix_rc2dly_spef(net_names=)."""
    lines = Path(src).read_text().splitlines()
    taken = {tok.split("/")[0] for line in lines for tok in line.split()}
    renamed = {}
    for i, line in enumerate(lines):
        net, sep, rest = line.partition(" ")
        if _rc2dly_overflows(net):
            new = net + "_"
            while new in taken or _rc2dly_overflows(new):
                new += "_"
            taken.add(new)
            renamed[new] = net
            lines[i] = new + sep + rest
    Path(dst).write_text("\n".join(lines) + "\n")
    return renamed


def fix_rc2dly_spef(src: Path, dst: Path, delimiter: str = ":", design: str | None = None,
                    net_names: dict[str, str] | None = None) -> Path:
    """Write the fixed copy of `src` to `dst`. `delimiter` must be the one rc2dly was run with
    (`rc2dly -D :`); `design` replaces the *DESIGN name (rc2dly writes the DEF's); `net_names` maps names
    rc2dly_safe_rc lengthened back to the netlist's."""
    lines = Path(src).read_text().splitlines()
    ports = {l.split()[0] for i in _section(lines, "*PORTS") if (l := lines[i]).strip()}
    net_names = net_names or {}
    for i in _section(lines, "*NAME_MAP"):
        index, _, name = lines[i].partition(" ")
        if name and index not in ports:
            name = net_names.get(name.strip(), name.strip())
            lines[i] = f"{index} {_UNSAFE.sub('_', name)}"
    header = {"*DELIMITER": delimiter, "*BUS_DELIMITER": "[]", "*C_UNIT": "1 PF"}
    if design:
        header["*DESIGN"] = f'"{design}"'
    in_parasitics = False
    for i, line in enumerate(lines):
        key = line.split(" ", 1)[0]
        if key in header:
            lines[i] = f"{key} {header.pop(key)}"
        elif key in ("*CAP", "*RES"):
            in_parasitics = True
        elif key.startswith("*") and not key[1:].isdigit():     # *END, *CONN, *D_NET, *I, *P
            in_parasitics = False
        elif in_parasitics:
            lines[i] = _NODE.sub(lambda m: f"*{m.group(1)}{delimiter}{m.group(2)}", line)
    Path(dst).write_text("\n".join(lines) + "\n")
    return Path(dst)


def spef_summary(path: Path) -> dict[str, float | int | str]:
    """Numbers a check or a report needs: nets, total net capacitance (in the file's C unit), resistors,
    internal nodes still written as `N_K`, and the header units."""
    text = Path(path).read_text()
    parasitics = "\n".join(re.findall(r"^\*(?:CAP|RES)\n(.*?)(?=^\*)", text, re.S | re.M))
    return {
        "nets": len(re.findall(r"^\*D_NET ", text, re.M)),
        "total_cap": sum(float(v) for v in re.findall(r"^\*D_NET \S+ ([0-9.eE+-]+)", text, re.M)),
        "resistors": len(re.findall(r"^\d+ \S+ \S+ [0-9.eE+-]+$", parasitics, re.M)),
        "unfixed_nodes": len(_NODE.findall(parasitics)),
        "c_unit": re.search(r"^\*C_UNIT (.+)$", text, re.M).group(1).strip(),
        "bus_delimiter": re.search(r"^\*BUS_DELIMITER (.+)$", text, re.M).group(1).strip(),
    }
