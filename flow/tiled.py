"""The tiled (array-scale) physical flow: harden one PE and one B-spline unit as macros, tile them, route only
the array-level nets.

1. Each macro (kan_pe, kan_bspline) is synthesized alone, placed by graywolf, given edge pins (macro.py: west
   inputs / east outputs at the same y, north inputs / south outputs at the same x, broadcasts north) and
   routed by qrouter without the PDK's top layer, which stays free over the macro for the array router. Its
   LEF abstract, routed netlist, SPEF and DEF are cached under build/.cache/macros/<key>/ (key: the module's
   Verilog, the PDK's liberty, the pin plan, synthesis options, tool versions, code_hash), built in a temporary
   folder and renamed into place when complete, so a sweep over array sizes hardens each variant once.
2. Glue: kan_array is synthesized by Yosys with kan_pe/kan_bspline as black boxes. Its few hundred cells
   (input skew and output deskew registers, valid pipeline, the constant-zero partial sums of row 0) are
   placed by floorplan.py in strips next to where they connect. Yosys sees the real glue RTL, so the cells are
   exactly those of the flat flow; no generator change is needed.
3. The array DEF (macros FIXED, glue PLACED, I/O pins) is routed with the macros' LEFs: nets in windows of
   2x2, 4x4, 8x8 PE pitches (a net that fails in its window is routed there again with the window's own nets),
   long nets in pieces per tile, then full-die runs for each long net's spine and for the nets left
   (window_route.py, _route_windowed); qflow_pnr.route on the whole die if that fails, up to
   FALLBACK_MAX_MACROS macros.
4. OpenSTA times the hierarchical netlist: every macro instance reads its macro's SPEF (`read_spef -path`,
   rc2dly's), the array level the one def_spef.py writes from the routed DEF for every array-level net, each
   written down to the cell pins inside the macros (OpenSTA 2.0 times a net by its top-level parasitics).
5. The flattened gate netlist runs the cocotb check against the golden model.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import asdict
from pathlib import Path

from rtl_gen.generator import generate_verilog
from rtl_gen.params import KanParams

from .config import Config
from .errors import FlowError, RouteIncomplete, ToolFailed
from .metrics import Metric, Metrics
from .pdks import LayerRoles, PdkInfo, resolve
from .tools import floorplan as fp
from .tools import qflow_pnr, window_route
from .tools.def_spef import write_spef
from .tools.die_plot import render_die
from .tools.lefdef import def_tracks, floating_ports, read_def, routes_of, routing_layers, specials_of
from .tools.liberty import CACHE, cell_table, prepared_liberty
from .tools.macro import Abstract, MacroPins, PlacedPin, edge_keepouts, place_edge_pins, write_lef
from .tools.opensta import run_sta
from .tools.yosys_synth import mapping_values, run_isolated_script, simulatable_netlist, synthesize
from .versions import tool_versions

HERE = Path(__file__).parent / "tools" / "tiled"
# macro route retries (see _build_macro); a change here changes hardened macros (and their key: code_hash)
MACRO_SPARSE_DENSITY = 0.7
MACRO_SPARSE_MAX_FAILED = 0.05    # of the nets
MACRO_RELIEF_DENSITY = 0.3
CHANNEL_UM = 12.0          # routing channel between macros
GLUE_DENSITY = 0.5         # of the glue strips (the routability the toolchain notes measured for sky130hd)
WINDOW_HALO_UM = 24.0      # room around a net's pins that its routing window must hold (window_route.py)
WINDOW_REPAIRS = 3         # full-die reruns that take window nets in a short on the grid back
SPINE_HOLE_UM = 3.0        # around the pin where a long net's spine meets one of its pieces
FALLBACK_MAX_MACROS = 80   # above this (8x8 + its 8 B-spline units) a failed window route is not routed again on
                           # the whole die: that costs nets x die area (8x8: 510 s; 16x16 extrapolates to hours)


def _bits(name: str, width: int) -> list[str]:
    return [f"{name}[{k}]" for k in range(width)] if width > 1 else [name]


# ---------------------------------------------------------------- macros

def bspline_pins(p: KanParams) -> MacroPins:
    """kan_bspline: x from the west, m/basis to the east, spread over the edges (the PE lines up with them)."""
    east = _bits("m", p.interval_bits) + [b for j in range(p.n_active) for b in _bits(f"basis_{j}", p.table_bits)]
    west = _bits("x", p.input_bits)
    n = max(len(west), len(east))
    rows = [(west[k] if k < len(west) else None, east[k] if k < len(east) else None) for k in range(n)]
    return MacroPins(rows=rows, cols=[("sys_clk", None), ("sys_rst", None)])


def pe_pins(p: KanParams, bs: Abstract) -> MacroPins:
    """kan_pe: m/basis west->east at exactly the y of the B-spline unit's matching east pins (the unit is hardened
    first: it is the smaller macro, and a die is cheaper to stretch for pins in the bigger one), psum/load
    north->south, load_en/sys_clk/sys_rst broadcast from the north."""
    west = _bits("m_in", p.interval_bits) + [b for j in range(p.n_active) for b in _bits(f"basis_in_{j}", p.table_bits)]
    east = [w.replace("_in", "_out") for w in west]
    north = _bits("psum_in", p.acc_width) + _bits("load_in", p.coef_bits)
    south = [n.replace("_in", "_out") for n in north]
    return MacroPins(rows=list(zip(west, east)),
                     cols=list(zip(north, south)) + [("load_en", None), ("sys_clk", None), ("sys_rst", None)],
                     row_y=[bs.pins[w.replace("_in", "")].y for w in west])


def _module_text(rtl: str, module: str) -> str:
    m = re.search(rf"^module {module}\(.*?^endmodule", rtl, re.S | re.M)
    return m.group(0)


def _directions(module_text: str) -> dict[str, str]:
    out = {}
    decl = r"^\s*(input|output)\s+(?:reg\s+|wire\s+)?(?:signed\s+)?(?:\[(\d+):0\]\s+)?(\w+)"
    for kind, width, name in re.findall(decl, module_text, re.M):
        for b in _bits(name, int(width) + 1 if width else 1):
            out[b] = kind.upper()
    return out


def harden(module: str, plan: MacroPins, cfg: Config, pdk: PdkInfo, liberty: Path, rtl_text: str,
           free_layers: tuple[str, ...]) -> tuple[Abstract, dict, bool]:
    """Synthesize, place, pin and route one macro (or take it from the cache). -> (abstract, info, cache hit);
    info holds the macro's netlist, spef, def, log paths and metrics."""
    text = _module_text(rtl_text, module)
    key_data = {"module": text, "pdk": pdk.name, "liberty": liberty.name, "plan": asdict(plan),
                "clock": cfg.flow.clock_period_ns, "strategy": cfg.flow.synth_strategy, "booth": cfg.flow.booth,
                "free_layers": free_layers, "versions": tool_versions()}
    key = hashlib.sha256(json.dumps(key_data, sort_keys=True, default=str).encode()).hexdigest()[:20]
    final = CACHE / "macros" / key
    final.parent.mkdir(parents=True, exist_ok=True)
    # A route that fails after every try fails again for the same key (the tools are deterministic): the failure
    # is kept beside the cache with its work folder, so the next point needing the macro (the 4x4 after the 2x2)
    # fails at once with the same message instead of spending the same minutes. Delete the folder to rebuild.
    failed = CACHE / "macros" / f"{key}.failed"
    # one builder per macro: sweep points sharing a PE variant (2x2 and 4x4) wait for it instead of building it twice
    with open(CACHE / "macros" / f".{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        hit = _cache_entry(final / "macro.json") is not None
        f = None if hit else _cache_entry(failed / "failure.json")
        if f is not None:
            raise RouteIncomplete(f"macro {module} route (cached failure: delete {failed} to build it again)",
                                  f["log"], f["failed"], f["total"])
        if not hit:
            # under the lock no one else builds this key: work folders left by killed builders of it go too
            for stale in (CACHE / "macros").glob(f".tmp-{key}-*"):
                shutil.rmtree(stale, ignore_errors=True)
            tmp = CACHE / "macros" / f".tmp-{key}-{os.getpid()}"
            tmp.mkdir(parents=True)
            (tmp / "key.json").write_text(json.dumps(key_data, indent=1, sort_keys=True, default=str))
            try:
                _build_macro(module, plan, cfg, pdk, liberty, text, free_layers, tmp, final)
            except RouteIncomplete as exc:
                shutil.rmtree(failed, ignore_errors=True)
                tmp.rename(failed)
                log = exc.log.replace(str(tmp), str(failed))
                (failed / "failure.json").write_text(json.dumps({"log": log, "failed": exc.failed,
                                                                 "total": exc.total}))
                raise RouteIncomplete(f"macro {module} route", log, exc.failed, exc.total) from None
            tmp.rename(final)
    info = json.loads((final / "macro.json").read_text())
    a = info["abstract"]
    abstract = Abstract(module, final / "macro.lef", a["units"], tuple(a["die"]),
                        {n: PlacedPin(**p) for n, p in a["pins"].items()}, floating_ports(final / "macro.def"),
                        {(d, l): tuple(v) for d, l, v in a["tracks"]})
    info["metrics"] = {k: Metric(**m) for k, m in info["metrics"].items()}
    for k in ("netlist", "spef", "def", "place_log", "route_log"):
        info[k] = final / info[k]
    return abstract, info, hit


def _cache_entry(path: Path) -> dict | None:
    """The JSON of a macro cache entry (macro.json, failure.json), or None where there is none. An unreadable one
    (cut short, edited) is reported and its folder deleted: the macro is built again, never a crash."""
    try:
        data = json.loads(path.read_bytes().decode())
        if isinstance(data, dict):
            return data
        problem = "not a JSON object"
    except FileNotFoundError:
        return None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problem = f"{type(exc).__name__}: {str(exc)[:80]}"
    print(f"warning: macro cache entry {path} is unreadable ({problem}): deleting {path.parent}, building it again")
    shutil.rmtree(path.parent, ignore_errors=True)
    return None


def _place_macro(netlist: Path, module: str, plan: MacroPins, pdk: PdkInfo, liberty: Path,
                 free_layers: tuple[str, ...], pnr: Path, density: float | None, relief: bool):
    for _ in range(3):
        placed = qflow_pnr.place(netlist, module, pdk, liberty, pnr, density=density, relief=relief)
        shortfall = _height_shortfall(placed.def_path, plan, pdk)
        if shortfall is None:
            break
        # Pins lined up with another macro's (the PE's with the B-spline unit's) need the die to reach the top
        # one; qflow sizes a square die from the cell area and the density, so lower the density to match
        # (place_edge_pins names the macro if even the lowest density is too short).
        density = max(0.1, (density or pdk.pnr.density) * shortfall ** 2 * 0.95)
    pins = place_edge_pins(placed.def_path, module, plan, pdk.layers)
    # The macro's wires stay inside its die (a frame of obstructions half a micron outside it on every layer)
    # and off `free_layers` (the array router may cross the macro there).
    layout = read_def(placed.def_path)
    x0, y0, x1, y1 = (v / layout.units for v in layout.die)
    frame = [(x0 - 5, y0 - 5, x0 - 0.5, y1 + 5), (x1 + 0.5, y0 - 5, x1 + 5, y1 + 5),
             (x0 - 5, y0 - 5, x1 + 5, y0 - 0.5), (x0 - 5, y1 + 0.5, x1 + 5, y1 + 5)]
    obstructions = [f"obstruction {a:g} {b:g} {c:g} {d:g} {layer}"
                    for layer in pdk.layers.routing for a, b, c, d in frame]
    obstructions += [f"obstruction {x0 - 1:g} {y0 - 1:g} {x1 + 1:g} {y1 + 1:g} {layer}" for layer in free_layers]
    obstructions += edge_keepouts(placed.def_path, pins, pdk.layers, [f for f in (pdk.tech_lef, pdk.cell_lef) if f])
    return placed, pins, obstructions


def _height_shortfall(def_path: Path, plan: MacroPins, pdk: PdkInfo) -> float | None:
    """None if the placed die reaches the plan's highest fixed pin row (plus 4 tracks), else the ratio of the
    die's height to the height it needs."""
    if not plan.row_y:
        return None
    _, y0, _, y1 = read_def(def_path).die
    step = def_tracks(Path(def_path).read_text())[("Y", pdk.layers.pin_h)][2]
    need = max(plan.row_y) + 4 * step
    return None if y1 >= need else (y1 - y0) / (need - y0)


def _build_macro(module: str, plan: MacroPins, cfg: Config, pdk: PdkInfo, liberty: Path, text: str,
                 free_layers: tuple[str, ...], work: Path, final: Path) -> None:
    t0 = time.perf_counter()
    rtl = work / f"{module}.v"
    rtl.write_text(text + "\n")
    syn = synthesize(rtl, module, pdk, liberty, work / "synth", cfg.flow.clock_period_ns, cfg.flow.synth_strategy,
                     cfg.flow.booth)
    t1 = time.perf_counter()
    # A macro whose route leaves a few nets open (PEs: 34-60 of ~2,000-2,600 on sky130hd) is placed once more at
    # MACRO_SPARSE_DENSITY times the density, otherwise unchanged: the 8-bit 4x4 PE then routes with a 1.4x die
    # instead of relief's 3.2x (which cost a third of its fmax). Dense random logic routes only with relief: the
    # 16-bit B-spline table (4 x 16 bits of 256-entry ROM) left 459 of 1681 nets unrouted at density 0.5 on
    # sky130hd, 103 at 0.2, and 0 at 0.15 without fanout buffering (gf180mcu: 17 failed nets at 0.75, 0.45 and 0.27
    # on 4 layers). Relief, the last try (straight away when more than MACRO_SPARSE_MAX_FAILED of the nets failed):
    # MACRO_RELIEF_DENSITY times the density, unbuffered, on every routing layer.
    base, density, relief, tries, place_s, route_s = None, None, False, 0, 0.0, 0.0
    while True:
        tries += 1
        t = time.perf_counter()
        folder = "pnr" if tries == 1 else "pnr-relief" if relief else "pnr-sparse"
        placed, pins, obstructions = _place_macro(syn.netlist, module, plan, pdk, liberty, free_layers,
                                                  work / folder, density, relief=relief)
        place_s += time.perf_counter() - t
        t = time.perf_counter()
        try:
            routed = qflow_pnr.route(placed, pdk, placed.work, obstructions=obstructions)
            break
        except RouteIncomplete as exc:
            if relief:
                raise
            base = base or placed.metrics["density"].value
            if tries == 1 and exc.failed <= MACRO_SPARSE_MAX_FAILED * exc.total:
                density = base * MACRO_SPARSE_DENSITY
            else:
                relief, density = True, max(0.1, base * MACRO_RELIEF_DENSITY)
        finally:
            route_s += time.perf_counter() - t
    for src, dst in ((routed.netlist, "macro.v"), (routed.spef, "macro.spef"), (routed.def_path, "macro.def")):
        shutil.copy(src, work / dst)
    abstract = write_lef(work / "macro.def", module, pins, _directions(text), pdk.layers, work / "macro.lef",
                         free_layers)
    src = str(final)
    m = {"synth_cell_area": syn.metrics["cell_area"], "synth_cells": syn.metrics["cells"]}
    # qflow_pnr's sources are relative to its work folder (pnr/, pnr-sparse/ or pnr-relief/)
    m.update({f"place_{k}": Metric(v.value, v.unit, v.tool, f"{placed.work.name}/{v.source}")
              for k, v in placed.metrics.items()})
    m.update({f"route_{k}": Metric(v.value, v.unit, v.tool, f"{placed.work.name}/{v.source}")
              for k, v in routed.metrics.items()})
    m["place_tries"] = Metric(tries, "", "flow", "")
    m["place_relief"] = Metric(relief, "", "flow (last try at relief density, unbuffered, every layer)", "")
    m["runtime_synth"] = Metric(round(t1 - t0, 2), "s", "flow", "")
    m["runtime_place"] = Metric(round(place_s, 2), "s", "flow", "")
    m["runtime_route"] = Metric(round(route_s, 2), "s", "flow", "")
    m["lef_die_area_um2"] = Metric(round(abstract.width * abstract.height / abstract.units ** 2, 3), "um^2",
                                   "flow (macro LEF SIZE)", "macro.lef")
    (work / "macro.json").write_text(json.dumps({
        "netlist": "macro.v", "spef": "macro.spef", "def": "macro.def",
        "place_log": str(placed.log.relative_to(work)), "route_log": str(routed.log.relative_to(work)),
        "abstract": {"units": abstract.units, "die": abstract.die,
                     "pins": {n: asdict(p) for n, p in abstract.pins.items()},
                     "tracks": [[d, l, v] for (d, l), v in sorted(abstract.tracks.items())]},
        "metrics": {k: Metric(v.value, v.unit, v.tool, f"{src}/{v.source}" if v.source else src).as_dict()
                    for k, v in m.items()}}, indent=1))


# ---------------------------------------------------------------- array-level glue netlist

def _blackbox_rtl(rtl_text: str) -> str:
    """The generated RTL with kan_pe/kan_bspline reduced to their port lists, marked (* blackbox *)."""
    for module in ("kan_pe", "kan_bspline"):
        body = _module_text(rtl_text, module)
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
    """-> (ports [(name, dir, width)], cells [(name, type, [(port, bits)])]) of kan_array over black boxes."""
    work.mkdir(parents=True, exist_ok=True)
    rtl = work / "kan_array_blackbox.v"
    rtl.write_text(_blackbox_rtl(rtl_text))
    log = work / "yosys_glue.log"
    log.unlink(missing_ok=True)
    values = dict(liberty=liberty, rtl=rtl, stat=work / "stat.txt",
                  **mapping_values(pdk, cfg.flow.clock_period_ns, cfg.flow.synth_strategy))
    return run_isolated_script("array glue synthesis (yosys)", HERE / "glue_synth.ys", values, work, log,
                               _glue_design)


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
        taken: set[str] = {b for n, _, w in ports for b in _bits(n, w)}
        # wires Yosys kept as aliases of one another (`assign y = psum`) are one net: named after the port bit
        parent: dict[tuple, tuple] = {}

        def find(b):
            while parent.get(b, b) != b:
                b = parent[b]
            return b
        for a, b in aliases:
            if not a[0] or not b[0]:
                raise FlowError(f"array glue: constant {a[1] if not a[0] else b[1]} assigned to a wire after hilomap")
            ra, rb = find(a[:4]), find(b[:4])
            if ra != rb:
                if ra[3] and rb[3]:
                    raise FlowError(f"array glue: ports {ra[0]} and {rb[0]} are wired together without a cell")
                parent[ra if not ra[3] else rb] = rb if not ra[3] else ra
        self._find = find
        self.cells = []
        count: dict[str, int] = {}
        for name, ctype, conns in cells:
            # a glue cell is named <cell type>_<k> as qflow names instances: rc2dly takes the cell from the
            # instance name (others draw "Did not find standard cell" and, in an 8x8 array, a malloc abort)
            count[ctype] = count.get(ctype, 0) + 1
            iname = _safe(name) if ctype in macros else f"{ctype}_{count[ctype]}"
            while iname in taken:
                iname += "_"
            taken.add(iname)
            named = [(port, [self._name(b, taken) for b in bits]) for port, bits in conns]
            self.cells.append((iname, ctype, named))

    def _name(self, bit: tuple, taken: set[str]) -> str:
        if not bit[0]:
            if bit[1] in self.power_nets:
                return self.power_nets[bit[1]]
            raise FlowError(f"array glue: constant {bit[1]} left on a cell port after hilomap")
        bit = self._find(bit[:4])
        key = bit[:2]
        if key not in self.bit_name:
            wire, off, width, is_port = bit
            if is_port:
                self.bit_name[key] = f"{wire.lstrip(chr(92))}[{off}]" if width > 1 else wire.lstrip("\\")
            else:
                base = _safe(wire) + (f"_{off}" if width > 1 else "")
                n = base
                while n in taken:
                    n += "_"
                taken.add(n)
                self.bit_name[key] = n
        return self.bit_name[key]

    def nets(self, floating: dict[str, set[str]]) -> dict[str, list[tuple[str, str]]]:
        """{net: [(instance|'PIN', pin)]} for the DEF; macro pins nothing inside connects to are left out."""
        nets: dict[str, list] = {}
        for n, _, w in self.ports:
            for b in _bits(n, w):
                nets.setdefault(b, []).append(("PIN", b))
        for iname, ctype, conns in self.cells:
            for port, bits in conns:
                pins = _bits(port, len(bits)) if ctype in self.macros else [port]
                for pin, net in zip(pins, bits):
                    if pin not in floating.get(ctype, set()):
                        nets.setdefault(net, []).append((iname, pin))
        return {k: v for k, v in nets.items() if len(v) > 1}

    def verilog(self) -> str:
        decl = [f"  {d} {f'[{w - 1}:0] ' if w > 1 else ''}{n};" for n, d, w in self.ports]
        wires = sorted({b for _, _, conns in self.cells for _, bits in conns for b in bits if "[" not in b}
                       - {n for n, _, w in self.ports if w == 1})
        const = {n: v for v, n in self.power_nets.items()}
        lines = [f"module kan_array({', '.join(n for n, _, _ in self.ports)});", *decl,
                 *[f"  wire {w}{f' = 1{chr(39)}b{const[w]}' if w in const else ''};" for w in wires]]
        for iname, ctype, conns in self.cells:
            args = []
            for port, bits in conns:
                expr = bits[0] if len(bits) == 1 else "{" + ", ".join(reversed(bits)) + "}"
                args.append(f".{port}({expr})")
            lines.append(f"  {ctype} {iname} ( {', '.join(args)} );")
        return "\n".join(lines + ["endmodule", ""])


# ---------------------------------------------------------------- floorplan of the array

def _io_pins(p: KanParams, insts: dict, die, tracks, layers: LayerRoles) -> dict[str, tuple[str, int, int]]:
    """Top-level pins on the die edge, each on the track where its net leads: x west of its row's B-spline
    x pin, load_data north above its column's load_in pin, y south below the last row's psum_out pin,
    the control ports stacked on the west edge from the bottom."""
    h_layer, v_layer = layers.pin_h, layers.pin_v
    sx = next(st for d, l, st, _ in tracks if d == "X" and l == v_layer)
    sy = next(st for d, l, st, _ in tracks if d == "Y" and l == h_layer)
    x0, y0, x1, y1 = die
    xl, yb = fp.align_up(x0, sx) + sx, fp.align_up(y0, sy) + sy      # one track inside the die edge
    yt = (y1 // sy) * sy - sy
    pins: dict[str, tuple] = {}
    A, n, c = p.acc_width, p.input_bits, p.coef_bits
    for i in range(p.rows):
        for k in range(n):
            pins[f"x[{i * n + k}]"] = (h_layer, xl, fp.macro_pin_xy(insts[f"bspline_{i}"], _bits("x", n)[k])[2])
    for j in range(p.cols):
        for k in range(c):
            top_pe = insts[f"pe_0_{j}"]
            pins[f"load_data[{j * c + k}]"] = (v_layer, fp.macro_pin_xy(top_pe, _bits("load_in", c)[k])[1], yt)
        for k in range(A):
            pe = insts[f"pe_{p.rows - 1}_{j}"]
            pins[f"y[{j * A + k}]"] = (v_layer, fp.macro_pin_xy(pe, _bits("psum_out", A)[k])[1], yb)
    for k, name in enumerate(("sys_clk", "sys_rst", "load_en", "in_valid", "out_valid")):
        pins[name] = (h_layer, xl, yb + sy * (4 + 2 * k))
    return pins


def build_floorplan(p: KanParams, pe: Abstract, bs: Abstract, net: ArrayNetlist, pdk: PdkInfo,
                    liberty: Path) -> tuple[fp.Floorplan, dict]:
    u = pe.units
    dims = fp.cell_dims(pdk.cell_lef, u)
    layers = pdk.layers
    _, _, tracks = fp.grid_steps(pe.tracks)
    sx = next(st for d, l, st, _ in tracks if d == "X" and l == layers.pin_v)
    sy = next(st for d, l, st, _ in tracks if d == "Y" and l == layers.row_tracks)
    row_h = dims[pdk.buffer.cell][1]
    site, offset = (sx, row_h), (sx // 2, sy // 2)
    cells = {i: fp.Inst(i, t, width=dims[t][0], height=dims[t][1]) for i, t, _ in net.cells if t not in net.macros}
    nets = net.nets({m: a.floating for m, a in (("kan_pe", pe), ("kan_bspline", bs))})
    areas = cell_table(liberty)
    strips = {"W": 0, "S": 0, "N": 0}
    for _ in range(2):     # size the strips by what lands in them, then place again in the sized strips
        die, insts, regions = fp.plan_array(p.rows, p.cols, pe, bs, strips, CHANNEL_UM)
        pins = _io_pins(p, insts, die, tracks, layers)
        fixed = {(i, pin): fp.macro_pin_xy(insts[i], pin) for i in insts for pin in insts[i].macro.pins}
        fixed.update({("PIN", n): v for n, v in pins.items()})
        targets = fp.glue_targets(sorted(cells), nets, fixed, die)
        side = {c: fp.nearest_strip(targets[c], regions) for c in sorted(cells)}
        new = {}
        for s in strips:
            area = sum(areas[cells[c].cell][0] for c in cells if side[c] == s)
            r = regions[s]
            length = (r[3] - r[1]) if s == "W" else (r[2] - r[0])
            if s == "W":     # rows run across a west strip: its width holds the area at the density, plus margin
                new[s] = fp.align_up(int(area * u * u / GLUE_DENSITY / max(length, 1)) + 4 * row_h, sx) if area else 0
            else:
                new[s] = fp.strip_thickness(area, length, u, GLUE_DENSITY, row_h)
        if new == strips:
            break
        strips = new
    u_track = sx / u
    mirrored = {t for t in {c.cell for c in cells.values()}
                if fp.x_mirrored(pdk.cell_lef, t, u_track, u_track / 2, layers.cell_pins)}
    rows = []
    for s in sorted(strips):
        members = [cells[c] for c in sorted(cells) if side[c] == s]
        if members:
            rows += fp.legalize(members, targets, regions[s], site, offset, s, mirrored)
    insts.update(cells)
    plan = fp.Floorplan(u, die, tracks, insts, pins, rows, site)
    return plan, nets


def route_array(top_def: Path, top_v: Path, lefs: list[Path], nets: dict, pdk: PdkInfo, liberty: Path,
                work: Path, plan: fp.Floorplan | None = None, cell: tuple[int, int] | None = None):
    """qflow_pnr.route on the array DEF with the macros' LEFs; with `plan`, the array is routed in windows of
    `cell`s first (window_route.py) and full-die runs route the rest (_route_windowed). A failed
    net that ends on a macro pin fails with the macro, pin and instance named (an unreachable pin is never a
    silent partial route)."""
    work.mkdir(parents=True, exist_ok=True)
    stats = None
    if plan is not None:
        routed, stats = _route_windowed(plan, top_v, lefs, nets, pdk, work, cell)
        if isinstance(routed, qflow_pnr.RouteResult):
            return routed
        if sum(1 for i in plan.insts.values() if i.macro) > FALLBACK_MAX_MACROS:
            raise ToolFailed(routed.step, routed.log, f"{routed.detail}; a full-die route of more than "
                             f"{FALLBACK_MAX_MACROS} macros is not tried (hours)")
    placed = qflow_pnr.PlaceResult(def_path=top_def, netlist=top_v, metrics={}, log=work / "place.log",
                                   work=work, liberty=liberty, top="kan_array")
    try:
        routed = qflow_pnr.route(placed, pdk, work, extra_lefs=lefs)
        if stats is not None:
            routed.metrics.update(_window_metrics(stats, fallback=True))
        return routed
    except ToolFailed as exc:
        log = Path(exc.log)
        text = log.read_text(errors="replace") if log.exists() else ""
        failed = sorted(set(re.findall(r"^(?:Failed to route net|Failure on net) (\S+?):?\s", text, re.M)))
        macros = {re.search(r"^MACRO (\S+)", Path(lef).read_text(), re.M).group(1) for lef in lefs}
        comps = dict(re.findall(r"^-\s+(\S+)\s+(\S+)\s+\+", top_def.read_text(), re.M))
        on_macro = [(comps[i], p, i, n) for n in failed for i, p in nets.get(n, []) if comps.get(i) in macros]
        if not on_macro:
            raise
        desc = "; ".join(f"macro {m} pin {p} (instance {i}, net {n})" for m, p, i, n in on_macro[:4])
        raise ToolFailed("array route (qrouter)", str(log), f"{len(failed)} nets failed, unreachable: {desc}"
                         + (f" and {len(on_macro) - 4} more" if len(on_macro) > 4 else "")) from None


def _route_windowed(plan: fp.Floorplan, top_v: Path, lefs: list[Path], nets: dict, pdk: PdkInfo, work: Path,
                    cell: tuple[int, int]) -> tuple[qflow_pnr.RouteResult | ToolFailed, window_route.WindowStats]:
    """window_route.preroute, then full-die qrouter runs: one per long net routed in pieces (its spine), then one
    for the nets left over, with every route so far in its DEF as a FIXED special net (qrouter's fixed
    obstructions). A pin's own via can still land through such a wire when it is right over the pin, so the merged
    routes are checked for shorts on the grid, and the window nets in one are routed again in the last run (at
    most WINDOW_REPAIRS times). -> (the RouteResult of the merged DEF, or the failure when a full-die run left nets
    open or shorts remain: the caller then routes everything again without the windows; the window stats)."""
    windowed, parts, specials, stats = window_route.preroute(plan, nets, pdk, lefs, work / "windows", cell,
                                                             halo=int(WINDOW_HALO_UM * plan.units))
    layers, vias = routing_layers([f for f in (pdk.tech_lef, pdk.cell_lef) if f])
    pitch = (min(st for d, _, st, _ in plan.tracks if d == "X"), min(st for d, _, st, _ in plan.tracks if d == "Y"))
    repaired: set[str] = set()
    # a long net routed in pieces: a full-die run routes its spine (the pins no piece holds and the first pin of
    # each piece, its way in) with the pieces' wires as obstructions; spine and pieces together are the net
    piece_wires = {n: "\n  NEW ".join(r for _, r in p) for n, p in parts.items()}
    hole = int(SPINE_HOLE_UM * plan.units)
    spine, piece_walls, way_in = {}, {}, {}

    def plan_spine(n: str) -> None:
        """spine[n], way_in[n] (the way-in pins' points) and piece_walls[n]: the pieces' wires with a hole around
        each way in, which the piece's own wires surround (spine and piece are one net: they may meet there)."""
        spine[n] = [c[0] for c, _ in parts[n]] + [c for c in nets[n] if c not in {x for cs, _ in parts[n] for x in cs}]
        way_in[n] = window_route.conn_rects(plan, {n: [c[0] for c, _ in parts[n]]})[n]
        piece_walls[n] = "\n  NEW ".join(filter(None, (
            window_route.cut(r, (x0 - hole, y0 - hole, x1 + hole, y1 + hole))
            for (_, r), (x0, y0, x1, y1) in zip(parts[n], way_in[n]))))
    for n in parts:
        plan_spine(n)
    routes = dict(windowed)
    patches = {n: r for n, r in specials.items() if n in windowed or n in parts}

    def full_die(folder: Path, group: dict):
        """One qrouter run on the whole die for `group`, every other route so far an obstruction; its routes
        and pin patches go into `routes` and `patches`."""
        folder.mkdir(exist_ok=True)
        for n in group:
            routes.pop(n, None)
            if n in parts:
                patches[n] = specials.get(n)      # the pieces' own
            else:
                patches.pop(n, None)
        walls = {**routes, **{f"{n} pieces": (piece_walls if n in group else piece_wires)[n]
                              for n in parts if n not in routes}}
        # the nets of later runs come in unrouted, ignored: qrouter keeps their pins free (window_route.preroute)
        later = {n: spine.get(n, c) for n, c in nets.items() if n not in routes and n not in group}
        left = fp.write_def(folder / "kan_array_left.def", plan, {**later, **group}, "kan_array",
                            routes={n: w for n, w in walls.items() if w})
        out, failed = qflow_pnr.route_only(left, pdk, folder, extra_lefs=lefs, ignore=sorted(later))
        if failed:
            raise RouteIncomplete("array route (full die)", str(folder / "route.log"), len(failed), len(group))
        text = out.read_text()
        for n, r in routes_of(text).items():
            if n in group:
                routes[n] = "\n  NEW ".join(filter(None, (r, piece_wires.get(n))))
        for n, r in specials_of(text).items():
            if n in group:
                patches[n] = " NEW ".join(filter(None, (patches.get(n), r)))

    try:
        # one full-die run per long net (its spine; its pieces' wires with the holes): a hole is open to every
        # net of its run, so its own net is the only one routed there. Then one run for the nets left, again
        # with the window nets in a short on the grid. A spine's via can still land on its way-in pin through
        # another net's wire lying over it (8x8: the clock under load enable): that piece then gets its next
        # pin as the way in, and the spine is routed again
        folder = {n: work / f"spine_{i}" for i, n in enumerate(sorted(parts))}
        spines = sorted(parts)
        for _ in range(WINDOW_REPAIRS + 1):
            for n in spines:
                full_die(folder[n], {n: spine[n]})
            full_die(work, {n: c for n, c in nets.items() if n not in windowed and n not in parts})
            merged = fp.write_def(work / "kan_array_routed.def", plan, nets, "kan_array", routes=routes)
            window_route.add_specials(merged, {n: r for n, r in patches.items() if r})
            shorts = window_route.grid_conflicts(merged.read_text(), pitch, layers, vias)
            (work / "window_shorts.txt").write_text("".join(f"{s}\n" for s in shorts))
            if not shorts:
                tool = "qrouter 1.4 (windows + full die)"
                metrics = {"failed_nets": Metric(0, "nets", tool, merged.name),
                           "routed_nets": Metric(len(nets), "nets", tool, merged.name),
                           **qflow_pnr.wiring_metrics(merged), **_window_metrics(stats, len(windowed), len(repaired)),
                           "window_full_die_runs": Metric(len(parts) + 1, "qrouter runs", "flow.tiled: one per long "
                                                          "net's spine, then the nets left", "route"),
                           "window_grid_shorts": Metric(0, "points", "flow.tools.window_route.grid_conflicts",
                                                        merged.name)}
                return qflow_pnr.RouteResult(def_path=merged, spef=None, netlist=top_v, metrics=metrics,
                                             log=work / "route.log"), stats
            again = {n for s in shorts for n in s[3:] if n in windowed}
            spines = []
            for _, x, y, *pair in shorts:
                for n in pair:
                    k = next((k for k, (x0, y0, x1, y1) in enumerate(way_in.get(n, ()))
                              if x0 - hole <= x <= x1 + hole and y0 - hole <= y <= y1 + hole), None)
                    if k is not None and n not in spines:
                        conns, wires = parts[n][k]
                        parts[n][k] = (conns[1:] + conns[:1], wires)
                        spines.append(n)
            if not again and not spines:
                break
            for n in spines:
                plan_spine(n)
            repaired |= again
            windowed = {n: r for n, r in windowed.items() if n not in again}
    except ToolFailed as exc:   # nets left open (RouteIncomplete) or qrouter crashed: route it all again
        failure = exc
    else:
        failure = ToolFailed("array route (windows + full die)", str(work / "window_shorts.txt"),
                             f"{len(shorts)} grid points shorted after {WINDOW_REPAIRS} repairs")
    if (work / "route.log").exists():
        (work / "route.log").replace(work / "route_windowed.log")
        failure.log = failure.log.replace(str(work / "route.log"), str(work / "route_windowed.log"))
    return failure, stats


def _window_metrics(stats: window_route.WindowStats, kept: int = 0, repaired: int = 0,
                    fallback: bool = False) -> Metrics:
    tool = "flow.tools.window_route + qrouter 1.4"
    return {"window_runs": Metric(stats.windows, "qrouter runs", tool, "route/windows"),
            "window_routed_nets": Metric(kept, "nets", tool + ": window routes in the final DEF", "route/windows"),
            "window_repaired_nets": Metric(repaired, "nets", tool + ": window routes in a short on the grid, "
                                           "routed again by the full-die run", "route/window_shorts.txt"),
            "window_unstuck_nets": Metric(stats.unstuck, "nets", tool + ": nets that failed in their window and "
                                          "were routed there again with the window's own nets", "route/windows"),
            "window_pieced_nets": Metric(stats.pieced, "nets", tool + ": long nets (clock, broadcasts) routed in "
                                         "pieces per window, joined by the full-die run", "route/windows"),
            "window_seconds": Metric(round(stats.seconds, 2), "s", tool, "route/windows"),
            "window_fallback": Metric(int(fallback), "", tool + ": 1 = the full-die run left nets open or shorts "
                                      "remained, and everything was routed again without windows",
                                      "route/route_windowed.log")}


# ---------------------------------------------------------------- the flow

def run_tiled(cfg: Config, work: Path, pdk_root=None, verify: bool = True) -> dict:
    """Tiled physical flow of one design point -> {"metrics": {name: Metric}, "artifacts": {...}}."""
    p = cfg.params
    pdk = resolve(cfg.pdk, pdk_root)
    liberty = prepared_liberty(pdk)
    work = Path(work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    rtl_text = generate_verilog(p)
    (work / "kan_array.v").write_text(rtl_text)
    free = pdk.layers.free
    times: dict[str, float] = {}

    t = time.perf_counter()
    bs, bs_info, bs_hit = harden("kan_bspline", bspline_pins(p), cfg, pdk, liberty, rtl_text, free)
    times["harden_bspline"] = time.perf_counter() - t
    t = time.perf_counter()
    pe, pe_info, pe_hit = harden("kan_pe", pe_pins(p, bs), cfg, pdk, liberty, rtl_text, free)
    times["harden_pe"] = time.perf_counter() - t

    t = time.perf_counter()
    ports, cells, aliases = synthesize_glue(rtl_text, cfg, pdk, liberty, work / "glue")
    no_ties = pdk.tie_hi is None or pdk.tie_lo is None
    net = ArrayNetlist(ports, cells, aliases, {"kan_pe": pe, "kan_bspline": bs},
                       {"0": pdk.ground, "1": pdk.power} if no_ties else None)
    plan, nets = build_floorplan(p, pe, bs, net, pdk, liberty)
    top_v = work / "kan_array_top.v"
    top_v.write_text(net.verilog())
    route_work = work / "route"
    route_work.mkdir(exist_ok=True)
    top_def = fp.write_def(route_work / "kan_array_placed.def", plan, nets, "kan_array")
    times["floorplan"] = time.perf_counter() - t

    t = time.perf_counter()
    routed = route_array(top_def, top_v, [pe.lef, bs.lef], nets, pdk, liberty, route_work, plan,
                         fp.array_pitch(pe, bs, CHANNEL_UM))
    times["route_top"] = time.perf_counter() - t

    netlist = work / "kan_array_tiled.v"
    netlist.write_text(top_v.read_text() + "\n" + pe_info["netlist"].read_text() + "\n"
                       + bs_info["netlist"].read_text())
    # the array level's parasitics from the routed DEF and the tech LEF's R/C (def_spef: every net, where
    # rc2dly's SPEF leaves out the nets qrouter finds no driver for and cuts macro pin names short), its
    # macro pin connections written as the cells inside, with the macro's wire up to them
    array_spef = work / "kan_array_array.spef"
    par = write_spef(routed.def_path, [f for f in (pdk.tech_lef, pdk.cell_lef) if f] + [pe.lef, bs.lef], liberty,
                     array_spef, "kan_array", {b: d for n, d, w in net.ports for b in _bits(n, w)},
                     {"kan_pe": pe_info["def"], "kan_bspline": bs_info["def"]})
    (work / "kan_array_array_spef.json").write_text(json.dumps(par, indent=1))
    times["array_spef"] = par["runtime_s"]
    t = time.perf_counter()
    spefs = [(i, (pe_info if m.macro.name == "kan_pe" else bs_info)["spef"])
             for i, m in sorted(plan.insts.items()) if m.macro] + [(None, array_spef)]
    # every macro instance reads its macro's SPEF (`read_spef -path`: its internal nets), the array level its own
    sta = run_sta(netlist, "kan_array", liberty, pdk, work / "sta", cfg.flow.clock_period_ns, stage="postroute",
                  spefs=spefs)
    timing, sta_report = sta.metrics, sta.report
    times["sta"] = time.perf_counter() - t

    t = time.perf_counter()
    merged = fp.merge_def(top_def, routed.def_path, {"kan_pe": pe_info["def"], "kan_bspline": bs_info["def"]},
                          plan, work / "kan_array_merged.def")
    times["merge_def"] = time.perf_counter() - t
    t = time.perf_counter()
    png = render_die(merged, pdk, work / "kan_array_die.png")
    times["die_png"] = time.perf_counter() - t

    m = _metrics(p, pe, bs, pe_info, bs_info, plan, net, routed, timing, liberty, work, pe_hit, bs_hit, times)
    m.update(_spef_metrics(par, routed, array_spef.name))
    m.update({k: v for k, v in routed.metrics.items() if k.startswith("window_")})
    if verify:
        t = time.perf_counter()
        from .verify import run_cocotb
        sim = simulatable_netlist(netlist, liberty, "kan_array", work / "verify")
        res = run_cocotb(p, [sim], work / "verify" / "cocotb", vectors=cfg.flow.verify_vectors, seed=cfg.flow.seed)
        tool = "cocotb 2 + icarus (golden model)"
        m["verify_gates_vectors"] = Metric(res.vectors, "vectors", tool, str(res.log))
        m["verify_gates_mismatches"] = Metric(res.mismatches, "", tool, str(res.log))
        m["runtime_verify"] = Metric(round(time.perf_counter() - t, 2), "s", "flow", "")
        if not res.passed:
            raise ToolFailed("tiled gate-level simulation (cocotb)", str(res.log),
                             f"{res.mismatches} mismatches of {res.vectors} vectors")
    logs = [pe_info["place_log"], pe_info["route_log"], bs_info["place_log"], bs_info["route_log"],
            work / "glue" / "yosys_glue.log", routed.log, sta_report]
    return {"metrics": m, "artifacts": {"def": merged, "png": png, "netlist": [netlist], "spefs": spefs,
                                        "spef": [f for f in (array_spef, pe_info["spef"], bs_info["spef"],
                                                             routed.spef) if f],
                                        "lef": [pe.lef, bs.lef], "logs": logs}}


def _spef_metrics(par: dict, routed, spef_name: str) -> Metrics:
    """Where the array level's parasitics came from: def_spef's counts and wire capacitance, next to what qflow's
    rc2dly SPEF (not used) held."""
    tool = "flow.tools.def_spef (routed DEF, tech LEF R/C, star RC per net)"
    if par["no_rc"]:
        tool += " [tech LEF has no R/C: connections only]"
    info = "kan_array_array_spef.json"
    return {
        "array_spef_nets": Metric(par["nets"], "nets", tool, spef_name),
        "array_spef_rc_nets": Metric(par["annotated"], "nets", tool + ": nets written with wire R and C", spef_name),
        "array_spef_macro_pins_expanded": Metric(par["expanded"], "pins", tool + ": macro pins written as the cell "
                                                 "pins inside, with the macro's port-net wire", spef_name),
        "array_wire_cap_pf": Metric(round(par["top_cap_pf"], 6), "pF", tool + ": array-level wires", spef_name),
        "array_net_cap_total_pf": Metric(round(par["total_cap_pf"], 6), "pF",
                                         tool + ": array-level wires + the macros' port-net wires", spef_name),
        "array_spef_no_driver_nets": Metric(len(par["no_driver"]), "nets", tool, info),
        "array_spef_missing": Metric(len(par["missing"]), "items", tool + ": layers/vias/pins without data", info),
        **({"array_rc2dly_spef_nets": Metric(routed.metrics["spef_nets"].value, "nets",
                                             "rc2dly (qflow; not used for timing)", routed.spef.name)}
           if routed.spef else {}),     # only a route without windows writes one
    }


def _metrics(p, pe, bs, pe_info, bs_info, plan, net, routed, timing, liberty, work, pe_hit, bs_hit, times) -> Metrics:
    n_pe, n_bs = p.rows * p.cols, p.rows
    areas = cell_table(liberty)
    glue = [t for _, t, _ in net.cells if t not in net.macros]
    glue_area = sum(areas[t][0] for t in glue)
    pm, bm = pe_info["metrics"], bs_info["metrics"]
    rel = lambda path: str(Path(path).relative_to(work)) if Path(path).is_relative_to(work) else str(path)
    u = plan.units
    die = (plan.die[2] - plan.die[0]) * (plan.die[3] - plan.die[1]) / u ** 2
    place_area = n_pe * pm["place_cell_area_um2"].value + n_bs * bm["place_cell_area_um2"].value + glue_area
    synth_area = n_pe * pm["synth_cell_area"].value + n_bs * bm["synth_cell_area"].value + glue_area
    src_sum = f"{pm['place_cell_area_um2'].source}, {bm['place_cell_area_um2'].source}, glue/stat.txt"
    m: Metrics = {
        "physical_mode": Metric("tiled", "", "flow", "flow.physical"),
        "cell_area": Metric(round(synth_area, 3), "um^2", "yosys 0.70 (per macro) + liberty areas (glue)", src_sum),
        "place_cell_area_um2": Metric(round(place_area, 3), "um^2", "liberty areas of placed cells", src_sum),
        "cells": Metric(n_pe * pm["place_cells"].value + n_bs * bm["place_cells"].value + len(glue), "cells",
                        "graywolf+addspacers (macros) + yosys (glue)", src_sum),
        "glue_cells": Metric(len(glue), "cells", "yosys 0.70", "glue/stat.txt"),
        "glue_cell_area_um2": Metric(round(glue_area, 3), "um^2", "liberty areas", "glue/stat.txt"),
        "die_area": Metric(round(die, 3), "um^2", "flow (array floorplan)", rel(routed.def_path)),
        "macro_area_pe": Metric(round(pe.width * pe.height / u ** 2, 3), "um^2", "flow (macro LEF SIZE)", str(pe.lef)),
        "macro_cells_pe": pm["place_cells"],
        "macro_cell_area_pe": pm["place_cell_area_um2"],
        "macro_area_bspline": Metric(round(bs.width * bs.height / u ** 2, 3), "um^2", "flow (macro LEF SIZE)",
                                     str(bs.lef)),
        "macro_cells_bspline": bm["place_cells"],
        "macro_cache_hits": Metric(int(pe_hit) + int(bs_hit), "of 2 macros", "flow", "build/.cache/macros"),
        "failed_nets": routed.metrics["failed_nets"],
        "wirelength": routed.metrics["wirelength_um"],   # array-level nets only (the macros' wires not included)
        "macro_failed_nets": Metric(pm["route_failed_nets"].value + bm["route_failed_nets"].value, "nets",
                                    "qrouter 1.4",
                                    f"{pm['route_failed_nets'].source}, {bm['route_failed_nets'].source}"),
    }
    for k in ("wns", "tns", "fmax"):
        v = timing[f"postroute_{k}"]
        m[f"postroute_{k}"] = v
        m[k] = Metric(v.value, v.unit, f"{v.tool} [postroute, hierarchical SPEF: macros rc2dly, array def_spef]",
                      v.source)
    for k in ("critical_path", "critical_arrival", "hold_slack"):
        if f"postroute_{k}" in timing:
            m[f"postroute_{k}"] = timing[f"postroute_{k}"]
    for macro, mm in (("pe", pm), ("bspline", bm)):     # how hard the macro was to route
        if "place_tries" in mm:
            m[f"macro_place_tries_{macro}"] = mm["place_tries"]
        # macros cached before place_relief existed: their placement folder says it (pnr-relief/)
        m[f"macro_place_relief_{macro}"] = mm.get("place_relief") or Metric(
            "pnr-relief/" in mm["place_cells"].source, "", "flow (placement folder pnr-relief/)",
            mm["place_cells"].source)
    for step, s in times.items():
        m[f"runtime_{step}"] = Metric(round(s, 2), "s", "flow (wall clock)", "")
    return m
