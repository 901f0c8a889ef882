"""The array-level glue netlist of the tiled flow: kan_array synthesized by Yosys (glue_synth.ys, next to this
module) with kan_pe/kan_bspline as black boxes, and ArrayNetlist, which names every bit once for the Verilog
netlist and the DEF nets. Yosys sees the real glue RTL, so the cells are exactly those of the flat flow."""
from __future__ import annotations

import copy
import re
from pathlib import Path

from ..config import Config
from ..errors import FlowError
from ..pdks import PdkInfo
from ..tools.yosys_synth import mapping_values, run_isolated_script
from .rtl import bits, module_text

GLUE_SCRIPT = Path(__file__).parent / "glue_synth.ys"
MACRO_MODULES = ("kan_pe", "kan_bspline")


def _blackbox_rtl(rtl_text: str) -> str:
    """The generated RTL with kan_pe/kan_bspline reduced to their port lists, marked (* blackbox *)."""
    for module in MACRO_MODULES:
        body = module_text(rtl_text, module)
        header = body[:body.index(");") + 2]
        rtl_text = rtl_text.replace(body, f"(* blackbox *)\n{header}\nendmodule")
    return rtl_text


def _glue_design(design):
    """Runs in the Yosys child after glue_synth.ys: the mapped glue's ports and cells with every connected bit
    as (wire name, offset, wire width, is port) or ('', value) for a constant."""
    def bit(b):
        if b.wire is None:      # a constant: State.S0 -> "0"
            return "", str(b.data).removeprefix("State.S")
        return b.wire.name.str(), b.offset, b.wire.width, bool(b.wire.port_input or b.wire.port_output)
    top = design.top_module()
    ports = sorted((w.port_id, w.name.str().lstrip("\\"), "input" if w.port_input else "output", w.width)
                   for w in top.wires_.values() if w.port_input or w.port_output)
    cells = []
    for c in top.cells_.values():
        conns = []
        for port, sig in c.connections_.items():
            conns.append((port.str().lstrip("\\"), [bit(b) for b in sig.to_sigbit_vector()]))
        cells.append((c.name.str(), c.type.str().lstrip("\\"), sorted(conns)))
    aliases = [(bit(a), bit(b)) for lhs, rhs in top.connections()
               for a, b in zip(lhs.to_sigbit_vector(), rhs.to_sigbit_vector())]
    return [p[1:] for p in ports], sorted(cells), aliases


def synthesize_glue(rtl_text: str, cfg: Config, pdk: PdkInfo, liberty: Path, work: Path):
    """-> (ports [(name, dir, width)], cells [(name, type, [(port, bits)])], aliases) of kan_array over black
    boxes."""
    work.mkdir(parents=True, exist_ok=True)
    rtl = work / "kan_array_blackbox.v"
    rtl.write_text(_blackbox_rtl(rtl_text))
    log = work / "yosys_glue.log"
    log.unlink(missing_ok=True)
    values = dict(liberty=liberty, rtl=rtl, stat=work / "stat.txt",
                  **mapping_values(pdk, cfg.flow.clock_period_ns, cfg.flow.synth_strategy))
    return run_isolated_script("array glue synthesis (yosys)", GLUE_SCRIPT, values, work, log, _glue_design)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name.lstrip("\\$")).strip("_") or "n"


class ArrayNetlist:
    """The glue netlist with one plain name per bit: port bits keep `name[k]`, every internal bit becomes a
    scalar `<wire>_<k>` (the names rc2dly's SPEF and the fixed SPEF keep unchanged). `power_nets` ({"0": ground,
    "1": power}) is for libraries without tie cells: a constant pin joins the power net, which qrouter routes to
    the nearest rail of that net, as qflow's flat flow does."""

    def __init__(self, ports, cells, aliases, macros: dict[str, str], power_nets: dict[str, str] | None = None):
        self.ports, self.macros, self.power_nets = ports, macros, power_nets or {}
        self.bit_name: dict[tuple, str] = {}
        self.taken: set[str] = {b for n, _, w in ports for b in bits(n, w)}    # instance and net names in use
        self.count: dict[str, int] = {}                                       # glue cells per cell type
        # wires Yosys kept as aliases of one another (`assign y = psum`) are one net: named after the port bit
        self.alias_of: dict[tuple, tuple] = {}
        for a, b in aliases:
            self._join(a, b)
        self.cells = []
        for name, ctype, conns in cells:
            iname = self._unique(_safe(name)) if ctype in macros else self.cell_name(ctype)
            named = [(port, [self._name(b) for b in conn_bits]) for port, conn_bits in conns]
            self.cells.append((iname, ctype, named))

    def _unique(self, name: str) -> str:
        while name in self.taken:
            name += "_"
        self.taken.add(name)
        return name

    def cell_name(self, ctype: str) -> str:
        """A new glue cell's instance name: <cell type>_<k>, as qflow names instances (rc2dly takes the cell from
        the instance name; others draw "Did not find standard cell" and, in an 8x8 array, a malloc abort)."""
        self.count[ctype] = self.count.get(ctype, 0) + 1
        return self._unique(f"{ctype}_{self.count[ctype]}")

    def net_name(self, base: str) -> str:
        """A new scalar net's name."""
        return self._unique(_safe(base))

    def copy(self) -> ArrayNetlist:
        """A copy to plan on: buffers added to it (add_buffers, new names) leave this netlist as it is."""
        other = copy.copy(self)
        other.cells, other.taken, other.count = list(self.cells), set(self.taken), dict(self.count)
        return other

    def add_buffers(self, buffers, sink_nets: dict[tuple[str, str], str]) -> None:
        """Append buffer cells ((instance, CellPin, input net, output net)) and move each (instance, pin) of
        `sink_nets` onto its new net."""
        for i, (iname, ctype, conns) in enumerate(self.cells):
            moved = []
            for port, net_bits in conns:
                pins = bits(port, len(net_bits)) if ctype in self.macros else [port]
                moved.append((port, [sink_nets.get((iname, pin), n) for pin, n in zip(pins, net_bits)]))
            self.cells[i] = (iname, ctype, moved)
        for iname, cell, net_in, net_out in buffers:
            self.cells.append((iname, cell.cell, sorted([(cell.inputs[0], [net_in]), (cell.output, [net_out])])))

    def _root(self, b: tuple) -> tuple:
        """The bit an alias chain ends at (a port bit where the chain holds one)."""
        while self.alias_of.get(b, b) != b:
            b = self.alias_of[b]
        return b

    def _join(self, a: tuple, b: tuple) -> None:
        """Make two aliased wire bits one net, rooted at the port bit if either is one."""
        if not a[0] or not b[0]:
            raise FlowError(f"array glue: constant {a[1] if not a[0] else b[1]} assigned to a wire after hilomap")
        ra, rb = self._root(a[:4]), self._root(b[:4])
        if ra != rb:
            if ra[3] and rb[3]:
                raise FlowError(f"array glue: ports {ra[0]} and {rb[0]} are wired together without a cell")
            self.alias_of[ra if not ra[3] else rb] = rb if not ra[3] else ra

    def _name(self, bit: tuple) -> str:
        if not bit[0]:
            if bit[1] in self.power_nets:
                return self.power_nets[bit[1]]
            raise FlowError(f"array glue: constant {bit[1]} left on a cell port after hilomap")
        bit = self._root(bit[:4])
        key = bit[:2]
        if key not in self.bit_name:
            wire, off, width, is_port = bit
            if is_port:
                self.bit_name[key] = f"{wire.lstrip(chr(92))}[{off}]" if width > 1 else wire.lstrip("\\")
            else:
                self.bit_name[key] = self.net_name(_safe(wire) + (f"_{off}" if width > 1 else ""))
        return self.bit_name[key]

    def nets(self, floating: dict[str, set[str]]) -> dict[str, list[tuple[str, str]]]:
        """{net: [(instance|'PIN', pin)]} for the DEF; macro pins nothing inside connects to are left out."""
        nets: dict[str, list] = {}
        for n, _, w in self.ports:
            for b in bits(n, w):
                nets.setdefault(b, []).append(("PIN", b))
        for iname, ctype, conns in self.cells:
            for port, net_bits in conns:
                pins = bits(port, len(net_bits)) if ctype in self.macros else [port]
                for pin, net in zip(pins, net_bits):
                    if pin not in floating.get(ctype, set()):
                        nets.setdefault(net, []).append((iname, pin))
        return {k: v for k, v in nets.items() if len(v) > 1}

    def port_directions(self) -> dict[str, str]:
        """{port bit: 'input' | 'output'} of kan_array."""
        return {b: d for n, d, w in self.ports for b in bits(n, w)}

    def verilog(self) -> str:
        decl = [f"  {d} {f'[{w - 1}:0] ' if w > 1 else ''}{n};" for n, d, w in self.ports]
        wires = sorted({b for _, _, conns in self.cells for _, net_bits in conns for b in net_bits if "[" not in b}
                       - {n for n, _, w in self.ports if w == 1})
        const = {n: v for v, n in self.power_nets.items()}
        lines = [f"module kan_array({', '.join(n for n, _, _ in self.ports)});", *decl,
                 *[f"  wire {w}{f' = 1{chr(39)}b{const[w]}' if w in const else ''};" for w in wires]]
        for iname, ctype, conns in self.cells:
            args = []
            for port, net_bits in conns:
                expr = net_bits[0] if len(net_bits) == 1 else "{" + ", ".join(reversed(net_bits)) + "}"
                args.append(f".{port}({expr})")
            lines.append(f"  {ctype} {iname} ( {', '.join(args)} );")
        return "\n".join(lines + ["endmodule", ""])
