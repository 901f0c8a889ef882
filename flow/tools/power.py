"""Activity-annotated power with Debian OpenSTA 2.0.17 (`sta`): internal, switching, leakage and total power of
a routed netlist, from the toggles of a gate-level simulation (a VCD), at the config's clock.

What 2.0.17 gets wrong and what this module does about it (../shared/notes/power.md has the measurements):
- Internal power is 0 on sky130hd (the liberty names its default operating conditions before defining them, so
  no voltage) and on gf180mcu (no default operating conditions): `power_liberty` names them after the group.
- 2.0.17 counts the internal energy of clock pins twice (measured: a flop's clock pin 8.14 uW where the liberty
  gives 4.07 uW at 100 MHz): `power_liberty` halves the internal_power tables of clock pins. Output arcs and
  data inputs come out right as they are (a buffer's output arc and a flop's D pin match the hand calculation
  from the tables within 0.01%; tests/test_power.py), so they are left alone. Conditional (`when`) groups were
  not checked separately.
- `set_power_activity -pins` fails (`get_pins_error`) and `sta::set_power_pin_activity` values are overwritten
  by the activity propagation that every report_power runs (each driver pin gets its cell function evaluated
  on its inputs' activities). `power_liberty` makes every output pin's function the pin itself, so propagation
  keeps the annotated value of each driver pin and copies it to the net's load pins. Timing arcs are untouched.
- Leakage: 2.0.17 takes a cell's cell_leakage_power, else its state-dependent (`when`) leakage_power groups with
  fixed weights that ignore the annotated duty (gf180mcu has no cell_leakage_power: every cell leaked twice its
  state average). `power_liberty` writes each such cell's cell_leakage_power as the average over its states, each
  equally likely (`_state_leakage`; sky130hd's own values are that average). Leakage does not follow the
  simulated duty: 2.0.17 has no way to weight it by the annotated states.
- No read_vcd/read_saif: `vcd_activity` streams the VCD (never loaded whole) and counts the toggles and the
  time high of every net in the measured window; every driving cell pin gets `sta::set_power_pin_activity`
  and every input port `set_power_activity -input_ports` (never -global: it overrides every per-pin value).
- A crash or early stop of sta (seen at exit after long Tcl loops) must not pass for a result: the script's last
  line prints SENTINEL and a run without it fails with its log.
Zero-delay simulation has no glitches, so switching and internal power are lower bounds.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path

from ..errors import ToolFailed
from ..metrics import Metric, Metrics
from ..pdks import REPO
from .liberty import CACHE, pin_directions
from .opensta import run_script, spef_reads, sta_version

HERE = Path(__file__).parent
SENTINEL = "kan-dse: power complete"
LIBERTY_VERSION = "4"      # of the edits below: part of the cached file's name


# ---------------------------------------------------------------- liberty

_TOKEN = re.compile(r'/\*.*?\*/|"(?:\\.|[^"\\])*"|[{}]', re.S)
_HEAD = re.compile(r'(\w+)\s*\(\s*"?([^")]*?)"?\s*\)\s*$')


def power_liberty(liberty: Path) -> Path:
    """The liberty as 2.0.17 computes power from it correctly (module docstring), cached by content."""
    text = Path(liberty).read_text(errors="replace")
    digest = hashlib.sha256(text.encode() + LIBERTY_VERSION.encode()).hexdigest()[:16]
    out = CACHE / "liberty" / f"{Path(liberty).stem.split('-')[0]}-power-{digest}.lib"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(fix_liberty(text))
        tmp.replace(out)
    return out


@dataclass
class _Group:
    kind: str
    name: str
    start: int                          # of the body (after "{")
    end: int = 0                        # of the closing "}"
    children: list = field(default_factory=list)


def _groups(text: str) -> list[_Group]:
    """Every group `kind (name) { ... }` as a tree (the library group first), braces outside comments/strings."""
    root, stack = _Group("", "", 0), []
    stack.append(root)
    for m in _TOKEN.finditer(text):
        if m.group(0) == "{":
            line_start = text.rfind("\n", 0, m.start()) + 1
            head = _HEAD.search(text[line_start:m.start()].rstrip()) or _HEAD.search(
                text[max(0, m.start() - 200):m.start()].rstrip())
            g = _Group(head.group(1) if head else "", head.group(2) if head else "", m.end())
            stack[-1].children.append(g)
            stack.append(g)
        elif m.group(0) == "}":
            stack.pop().end = m.start()
    return root.children


def _own_text(text: str, g: _Group) -> str:
    """The body of `g` without its child groups (its own attributes)."""
    parts, pos = [], g.start
    for c in g.children:
        head = text.rfind("\n", pos, c.start) + 1
        parts.append(text[pos:head])
        pos = c.end + 1
    parts.append(text[pos:g.end])
    return "".join(parts)


def _attr(own: str, name: str) -> str | None:
    m = re.search(rf'^\s*{name}\s*:\s*"?([^";]*)"?\s*;', own, re.M)
    return m.group(1).strip() if m else None


def fix_liberty(text: str) -> str:
    """Default operating conditions named after their group; internal energy tables of clock pins halved; every
    output pin's function made the pin itself; cell_leakage_power from the state-dependent leakage groups where a
    cell has none (module docstring)."""
    edits: list[tuple[int, int, str]] = []          # (start, end, replacement) in `text`
    lib = _groups(text)[0]
    conds = [g for g in lib.children if g.kind == "operating_conditions"]
    default = re.search(r'^[ \t]*default_operating_conditions\s*:\s*"?([^";]*)"?\s*;[ \t]*\n?', text[:lib.end], re.M)
    if conds:
        name = default.group(1).strip() if default and default.start() < lib.end else conds[0].name
        if name not in {g.name for g in conds}:
            name = conds[0].name
        if default:
            edits.append((default.start(), default.end(), ""))
        edits.append((conds[-1].end + 1, conds[-1].end + 1, f'\n    default_operating_conditions : "{name}";'))
    for cell in (g for g in lib.children if g.kind == "cell"):
        leakage = _state_leakage(text, cell)
        if leakage is not None:
            edits.append((cell.start, cell.start, f"\n    cell_leakage_power : {leakage:.10g};"))
        for pin in (g for g in cell.children if g.kind == "pin"):
            pin_own = _own_text(text, pin)
            direction = _attr(pin_own, "direction")
            clock = (_attr(pin_own, "clock") or "").lower() == "true"
            if direction == "output":            # the pin's own `function`, not one of a nested group
                bounds = [pin.start] + [x for c in pin.children for x in (c.start, c.end + 1)] + [pin.end]
                for a, b in zip(bounds[::2], bounds[1::2]):
                    func = re.search(r'^(\s*function\s*:\s*)"[^"]*"', text[a:b], re.M)
                    if func:
                        edits.append((a + func.start(), a + func.end(), f'{func.group(1)}"{pin.name}"'))
            for pwr in (g for g in pin.children if g.kind == "internal_power"):
                if clock:
                    for table in pwr.children:
                        for v in re.finditer(r"values\s*\((.*?)\)\s*;", text[table.start:table.end], re.S):
                            s, e = table.start + v.start(1), table.start + v.end(1)
                            halved = re.sub(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?",
                                            lambda n: f"{float(n.group(0)) / 2:.10g}", text[s:e])
                            edits.append((s, e, halved))
    out, pos = [], 0
    for s, e, new in sorted(edits):
        out.append(text[pos:s])
        out.append(new)
        pos = e
    out.append(text[pos:])
    return "".join(out)


_BOOL_TOKEN = re.compile(r"\s*(?:([A-Za-z_][\w\[\]]*)|([!&*|+^()])|([01]))")


def when_probability(when: str) -> float | None:
    """Probability that a liberty `when` expression holds with each of its pins independently 0 or 1 with equal
    odds; None for syntax this does not read (the postfix ', ...). Python's bitwise operators on 0/1 with ~ for !
    (the low bit is right for any nesting); & binds before ^ here, the reverse of liberty: leakage `when`s
    are minterms (no ^) in the libraries here."""
    expr, pins, prev = [], [], ""
    pos = 0
    while pos < len(when.rstrip()):
        m = _BOOL_TOKEN.match(when, pos)
        if not m:
            return None
        pos = m.end()
        name, op, const = m.groups()
        operand_start = name or const or op in ("!", "(")
        if operand_start and prev in ("operand", ")"):
            expr.append("&")                             # liberty: a space between operands is AND
        if name:
            if name not in pins:
                pins.append(name)
            expr.append(f"v[{pins.index(name)}]")
        else:
            expr.append(const or {"!": "~", "*": "&", "+": "|"}.get(op, op))
        prev = "operand" if name or const else op
    if not pins:
        return None
    code = compile("".join(expr), "<when>", "eval")
    hits = sum(eval(code, {"__builtins__": {}}, {"v": [(i >> k) & 1 for k in range(len(pins))]}) & 1
               for i in range(2 ** len(pins)))
    return hits / 2 ** len(pins)


def _state_leakage(text: str, cell: _Group) -> float | None:
    """cell_leakage_power for a cell that has none but state-dependent leakage_power groups (gf180mcu): each
    `when` group weighted by the probability of its state with every pin equally likely 0 or 1 (the weighting
    of sky130hd's own cell_leakage_power), normalized by their sum. Without it 2.0.17 weights the groups by fixed
    factors that ignore the annotated duty and do not sum to 1 (measured: a gf180mcu buffer's `I` and `!I` groups
    1.0 each, a flop's four `CLK&D` states 0.5 each: twice the average). 2.0.17 takes cell_leakage_power first
    and has no way to weight by the simulated duty. None where the cell needs no edit."""
    own = _own_text(text, cell)
    if _attr(own, "cell_leakage_power") is not None:
        return None
    weighted = total = 0.0
    for g in (c for c in cell.children if c.kind == "leakage_power"):
        body = _own_text(text, g)
        when, value = _attr(body, "when"), _attr(body, "value")
        if when is None or value is None:
            continue
        p = when_probability(when)
        if p is None:
            return None
        weighted += p * float(value)
        total += p
    return weighted / total if total else None


# ---------------------------------------------------------------- VCD

@dataclass
class VcdActivity:
    nets: dict[str, tuple[float, float]]    # net -> (toggles per clock cycle, fraction of the window high)
    cycles: float                           # clock cycles in the window
    toggles: int                            # all toggles counted


PS_PER = {"s": 1e12, "ms": 1e9, "us": 1e6, "ns": 1e3, "ps": 1.0, "fs": 1e-3}


def vcd_activity(vcd: Path, prefix: str, windows: list[tuple[float, float]], period_ps: float) -> VcdActivity:
    """Stream `vcd` and count, for every net under scope `prefix` (e.g. "kan_array.gates"), the 0<->1 changes at
    times inside the measured `windows` ([start, end) in ps, sorted, disjoint) and the time it is 1 there. Names
    are relative to `prefix`, deeper scopes joined by "/" (instance paths as OpenSTA writes them); a vector
    variable gives one name per bit."""
    scale = 1.0                      # ps per VCD time unit
    names: dict[str, list[tuple]] = {}           # id -> [(name, width, lowest bit)]
    scope: list[str] = []
    with open(vcd) as fh:
        for line in fh:
            tok = line.split()
            if not tok:
                continue
            if tok[0] == "$timescale":
                spec = " ".join(tok[1:]) if len(tok) > 1 else next(fh).strip()
                m = re.match(r"(\d+)\s*(s|ms|us|ns|ps|fs)", spec)
                scale = int(m.group(1)) * PS_PER[m.group(2)]
            elif tok[0] == "$scope":
                scope.append(tok[2].lstrip("\\"))
            elif tok[0] == "$upscope":
                scope.pop()
            elif tok[0] == "$var":
                path = ".".join(scope)
                if path == prefix or path.startswith(prefix + "."):
                    rel = path[len(prefix) + 1:].replace(".", "/")
                    ref = " ".join(tok[4:-1])
                    name = ref.split(" [")[0].strip().lstrip("\\")
                    bits = re.search(r"\[(\d+):(\d+)\]", ref[len(name):])
                    full = f"{rel}/{name}" if rel else name
                    names.setdefault(tok[3], []).append((full, int(tok[2]), int(bits.group(2)) if bits else 0))
            elif tok[0] == "$enddefinitions":
                break
        wins = sorted((a / scale, b / scale) for a, b in windows)
        end = wins[-1][1]
        value: dict[str, str] = {}
        since: dict[str, float] = {}     # the window time (see `measured`) at the net's last change
        toggles = {i: [0] * v[0][1] for i, v in names.items()}
        high = {i: [0.0] * v[0][1] for i, v in names.items()}
        now, k = 0.0, 0                  # k: the first window not over at `now`
        inside = wins[0][0] <= now < wins[0][1]
        # window time before `now` (the length of [0, now) inside the windows): a net's time high in the windows
        # is then a difference of two such times, exact on the VCD's integer times
        before = list(accumulate((w1 - w0 for w0, w1 in wins), initial=0.0))
        measured = 0.0
        scalar = {i for i, v in names.items() if v[0][1] == 1}

        def settle(ident: str, new: str) -> None:
            old = value.get(ident)
            width = len(toggles[ident])
            new = new.rjust(width, "0" if new[0] in "01" else new[0])[-width:]
            if old is not None:
                span = measured - since[ident] if "1" in old else 0.0
                if span:
                    for b, ch in enumerate(reversed(old)):
                        if ch == "1":
                            high[ident][b] += span
                if inside:
                    for b, (o, n) in enumerate(zip(reversed(old), reversed(new))):
                        if o != n and o in "01" and n in "01":
                            toggles[ident][b] += 1
            value[ident], since[ident] = new, measured

        for line in fh:
            c = line[:1]
            if c == "#":
                now = float(line[1:])
                if now >= end:
                    break
                while k < len(wins) and now >= wins[k][1]:
                    k += 1
                inside = k < len(wins) and wins[k][0] <= now
                measured = before[k] + (now - wins[k][0] if inside else 0.0)
            elif c in "01xzXZ":
                ident = line[1:].strip()
                if ident in scalar:      # settle() of one bit, inline: most lines of a gate-level VCD
                    new, old = c.lower(), value.get(ident)
                    if old is not None:
                        if old == "1":
                            span = measured - since[ident]
                            if span:
                                high[ident][0] += span
                        if inside and old != new and old in "01" and new in "01":
                            toggles[ident][0] += 1
                    value[ident], since[ident] = new, measured
                elif ident in toggles:
                    settle(ident, c.lower())
            elif c in "bB":
                bits, ident = line[1:].split()
                if ident in toggles:
                    settle(ident, bits.lower())
        measured = before[-1]
        for ident, val in value.items():           # the time high up to the last window's end
            span = measured - since[ident] if "1" in val else 0.0
            for b, ch in enumerate(reversed(val)):
                if ch == "1":
                    high[ident][b] += span
    cycles = measured * scale / period_ps
    nets: dict[str, tuple[float, float]] = {}
    total = 0
    for ident, entries in names.items():
        for full, width, lo in entries:
            for b in range(width):
                name = full if width == 1 else f"{full}[{lo + b}]"
                nets[name] = (toggles[ident][b] / cycles, high[ident][b] / measured)
                total += toggles[ident][b]
    return VcdActivity(nets, cycles, total)


# ---------------------------------------------------------------- netlist

_MODULE = re.compile(r"^\s*module\s+([^\s(]+)\s*\(.*?\);(.*?)^\s*endmodule", re.S | re.M)
_INST = re.compile(r"^\s*(\\\S+|[A-Za-z_]\w*)\s+(\\\S+\s|[A-Za-z_][\w$]*)\s*\((.*?)\)\s*;", re.S | re.M)
_CONN = re.compile(r"\.(\w+)\s*\(\s*(\\\S+\s|[^(){}\s]*)\s*\)")
_KEYWORDS = {"input", "output", "inout", "wire", "reg", "assign", "module", "endmodule"}


@dataclass
class NetlistPins:
    drivers: dict[str, list[str]]        # net -> driving leaf cell pins
    cells: dict[str, list[str]]          # module of the top-level instance ("glue" at the top) -> leaf cells


def netlist_pins(netlist: Path, top: str, liberty: Path) -> NetlistPins:
    """The driving leaf pins of every net of the structural `netlist` (flat, or hierarchical over modules defined
    in the same file), output pins by the liberty's pin directions. A net is named in the scope of its driver,
    as the VCD of that scope and OpenSTA name it: `pe_0_0/psum_out[3]` for a macro output driven inside the
    macro, whatever the net above it is called."""
    modules = {m.group(1).lstrip("\\"): m.group(2) for m in _MODULE.finditer(Path(netlist).read_text())}
    dirs = pin_directions(liberty)
    out = NetlistPins({}, {})

    def walk(module: str, path: str, group: str) -> None:
        for inst in _INST.finditer(modules[module]):
            kind, name = inst.group(1).lstrip("\\"), inst.group(2).strip().lstrip("\\")
            if kind in _KEYWORDS:
                continue
            if kind in modules:
                walk(kind, f"{path}{name}/", group if path else kind)
            elif kind in dirs:
                out.cells.setdefault(group, []).append(f"{path}{name}")
                for pin, net in _CONN.findall(inst.group(3)):
                    net = net.strip().lstrip("\\")
                    if net and dirs[kind].get(pin) == "output":
                        out.drivers.setdefault(f"{path}{net}", []).append(f"{path}{name}/{pin}")

    walk(top, "", "glue")
    return out


# ---------------------------------------------------------------- OpenSTA

@dataclass
class PowerResult:
    metrics: Metrics
    report: Path
    annotated_pins: int
    readback: dict[str, tuple[float, float, str]]      # pin -> (activity per s, duty, origin) when asked


def _sta_name(name: str) -> str:
    return name.replace("{", "\\{").replace("}", "\\}")


def write_activity(path: Path, activity: dict[str, tuple[float, float]], drivers: dict[str, list[str]],
                   input_ports: list[str]) -> tuple[int, list[str]]:
    """The Tcl lines annotating every input port and every driving cell pin with its net's activity per clock
    period and duty. -> (pins annotated, nets with a driver but no activity in the VCD).
    kan_pin_activity: power.tcl."""
    lines, pins, missing = [], 0, []
    for port in input_ports:
        if port in activity:
            a, d = activity[port]
            lines.append(f"set_power_activity -input_ports [get_ports {{{_sta_name(port)}}}] "
                         f"-activity {a:.8g} -duty {d:.6g}")
    for net, driven in sorted(drivers.items()):
        if net not in activity:
            missing.append(net)
            continue
        a, d = activity[net]
        for pin in driven:
            lines.append(f"kan_pin_activity {{{_sta_name(pin)}}} {a:.8g} {d:.6g}")
            pins += 1
    path.write_text("\n".join(lines) + "\n")
    return pins, missing


def run_power(netlist: Path, top: str, liberty: Path, work: Path, period_ns: float,
              activity: dict[str, tuple[float, float]], input_ports: list[str],
              spefs: list[tuple[str | None, Path]] = (), clock: str = "sys_clk",
              readback: list[str] = (), instances: dict[str, list[str]] | None = None) -> PowerResult:
    """Annotate and report power (W from sta, reported in mW). `liberty` is the PDK's prepared liberty: the
    power copy is made here. `readback` pins print their activity as OpenSTA holds it after report_power;
    `instances` {group: [leaf instances]} adds one report_power -instances per group (metrics power_<group>)."""
    tool = sta_version()
    work = Path(work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    lib = power_liberty(liberty)
    drivers = netlist_pins(netlist, top, liberty).drivers
    act_file = work / "activity.tcl"
    pins, missing = write_activity(act_file, activity, drivers, input_ports)
    script, report = work / "power.tcl", work / "power.log"
    groups = instances or {}
    inst_lines = "\n".join(f'puts "kan-dse: instances {g}"\nreport_power -instances [kan_cells {{'
                            + " ".join(_sta_name(i) for i in cells) + "}] -digits 8"
                           for g, cells in groups.items() if cells)
    back = "\n".join(f'puts "kan-dse: activity {p} [get_property [get_pins {{{_sta_name(p)}}}] activity]"'
                     for p in readback)
    values = dict(liberty=lib, netlist=Path(netlist).resolve(), top=top, clock=clock, period=f"{period_ns:g}",
                  spef=spef_reads(spefs) or "# no parasitics", activity=act_file, instances=inst_lines, readback=back,
                  propagate="set_propagated_clock [all_clocks]" if spefs else "# no parasitics: ideal clock")
    status, text, errors = run_script(HERE / "power.tcl", values, script, report)
    if status or errors or SENTINEL not in text:
        why = errors[0] if errors else (f"exit status {status}" if status else "")
        raise ToolFailed("power (opensta)", str(report), (why + ", " if why else "")
                         + f"the run stopped before its last line ({SENTINEL!r})" if SENTINEL not in text else why)
    total = re.search(r"^Total\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", text, re.M)
    if not total:
        raise ToolFailed("power (opensta)", str(report), "no Total line in report_power")
    internal, switching, leakage, whole = (float(v) * 1e3 for v in total.groups())   # W -> mW
    src = report.name
    metrics: Metrics = {
        "power_internal": Metric(internal, "mW", tool + " report_power (VCD activity per pin)", src),
        "power_switching": Metric(switching, "mW", tool + " report_power (VCD activity per pin)", src),
        "power_leakage": Metric(leakage, "mW", tool + " report_power", src),
        "power_total": Metric(whole, "mW", tool + " report_power (VCD activity per pin)", src),
        "power_annotated_pins": Metric(pins, "pins", "flow.tools.power (driving cell pins annotated)", act_file.name),
        "power_unannotated_nets": Metric(len(missing), "nets", "flow.tools.power (driven nets absent from the VCD)",
                                         act_file.name),
    }
    for g in groups:
        block = re.search(rf"^kan-dse: instances {re.escape(g)}\n(.*?)(?=^kan-dse: |\Z)", text, re.M | re.S)
        rows = re.findall(r"^\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+\s*$", block.group(1), re.M) if block else []
        value = sum(float(r[3]) for r in rows if re.fullmatch(r"[-+0-9.eE]+", r[3])) * 1e3
        metrics[f"power_{g}"] = Metric(value, "mW", tool + f" report_power -instances ({g}: "
                                       f"{len(groups[g])} cells)", src)
    back_values = {m.group(1): (float(m.group(2)), float(m.group(3)), m.group(4)) for m in re.finditer(
        r"^kan-dse: activity (\S+) (\S+) (\S+) (\S+)", text, re.M)}
    return PowerResult(metrics, report, pins, back_values)


# ---------------------------------------------------------------- the workload

MODULE_GROUPS = {"kan_pe": "module_pe", "kan_bspline": "module_bspline", "glue": "module_glue"}   # -> power_<..>
TB_PERIOD_PS = 10_000       # the testbench clock (flow/tb/driver.py): activity is per cycle, power at the config clock
_PORT = re.compile(r"^\s*input\s+(?:\[(\d+):(\d+)\]\s*)?([^;]+);", re.M)


def input_ports(netlist: Path, top: str, clock: str = "sys_clk") -> list[str]:
    """Every input port bit of module `top` but the clock, as OpenSTA names them (`x[3]`)."""
    body = next(m.group(0) for m in _MODULE.finditer(Path(netlist).read_text()) if m.group(1).lstrip("\\") == top)
    ports = []
    for hi, lo, names in _PORT.findall(body):
        for name in (n.strip().lstrip("\\") for n in names.split(",")):
            if hi:
                ports += [f"{name}[{k}]" for k in range(int(lo), int(hi) + 1)]
            elif name != clock:
                ports.append(name)
    return ports


MODEL_PASSES = 8            # array passes of a model inference simulated (evenly spread over its schedule)


def workload_power(params, netlist: Path, liberty: Path, spefs: list[tuple[str | None, Path]], work: Path,
                   period_ns: float, vectors: int, seed: int, top: str = "kan_array",
                   model: str | Path | None = None) -> tuple[Metrics, dict]:
    """The workload through the routed gates (cocotb + Icarus, the golden model as scoreboard), a VCD of the
    streaming cycles only (coefficient loads excluded), its toggles annotated in OpenSTA with the routed
    parasitics. Random: `vectors` random inputs after a random coefficient load. `model`: the model's first
    `vectors` test inputs through up to MODEL_PASSES passes of its inference with their real coefficients.
    -> (metrics, timings)."""
    import dataclasses
    import time

    from ..verify import simulate
    from .yosys_synth import simulatable_netlist

    work = Path(work).resolve()
    times = {}
    t = time.monotonic()
    pins = netlist_pins(netlist, top, liberty)
    # a hierarchical netlist (tiled): one scope per macro instance besides the top's, and one power figure per
    # module; a flat one has no hierarchy left to split by
    macros = sorted({c.split("/")[0] for g, cells in pins.cells.items() if g != "glue" for c in cells})
    groups = {MODULE_GROUPS.get(g, g): cells for g, cells in pins.cells.items()} if macros else None
    sim = simulatable_netlist(netlist, liberty, top, work / "sim", flatten=False)
    vcd = work / "workload.vcd"
    job = {"params": dataclasses.asdict(params), "seed": seed, "vectors": vectors, "corners": False}
    if model:
        from kan.accuracy import power_passes
        chosen, per_inference = power_passes(model, params, vectors, MODEL_PASSES)
        job["passes"] = [{"coefs": c.tolist(), "xs": x.tolist()} for c, x in chosen]
        workload = (f"model {os.path.relpath(model, REPO)}: its first {vectors} test inputs (quantized as "
                    f"`flow accuracy`) through {len(chosen)} of the {per_inference} array passes of one inference, "
                    "real coefficients")
    else:
        workload = f"random: {vectors} input vectors after a random coefficient load (seed {seed})"
    scopes = [f"{top}.gates"] + [f"{top}.gates.{m}" for m in macros]
    data, _, log = simulate([sim], work / "cocotb", "flow.tb.kan_array_tb", job, dump=(vcd, scopes))
    times["simulation"] = time.monotonic() - t
    if data is None or data["mismatches"] or not data.get("windows"):
        raise ToolFailed("power workload simulation (cocotb)", str(log),
                         "no result" if data is None else f"{data['mismatches']} mismatches of {data['vectors']} "
                         "vectors against the golden model")
    t = time.monotonic()
    act = vcd_activity(vcd, f"{top}.gates", data["windows"], TB_PERIOD_PS)
    vcd_mb = vcd.stat().st_size / 1e6
    vcd.unlink()                      # hundreds of MB on big arrays; the counts are kept in activity.json
    (work / "activity.json").write_text(json.dumps({"windows_ps": data["windows"], "cycles": act.cycles,
                                                    "nets": act.nets}, indent=0, sort_keys=True))
    times["vcd"] = time.monotonic() - t
    t = time.monotonic()
    res = run_power(netlist, top, liberty, work / "sta", period_ns, act.nets, input_ports(netlist, top), spefs,
                    instances=groups)
    times["sta"] = time.monotonic() - t
    m = {k: Metric(v.value, v.unit, v.tool, f"sta/{v.source}") for k, v in res.metrics.items()}
    total = m["power_total"]
    macs = params.rows * params.cols * params.n_active
    energy = total.value * period_ns                                                # mW x ns = pJ
    src = "sta/power.log"
    silent = sum(1 for a, _ in act.nets.values() if a == 0)
    m.update({
        "energy_per_inference": Metric(round(energy, 6), "pJ", "flow (power_total x clock period; one inference = "
                                       "one input vector, one per cycle in steady state)", src),
        "energy_per_mac": Metric(round(energy / macs, 6), "pJ", f"flow (energy_per_inference / {macs} MACs: "
                                 "rows x cols x (degree+1))", src),
        "power_workload": Metric(workload, "", "flow.tools.power", "activity.json"),
        "power_cycles": Metric(round(act.cycles, 3), "cycles", "flow.tools.power (VCD window: the streaming "
                               "cycles, coefficient load excluded)", "activity.json"),
        "power_nets": Metric(len(act.nets), "nets", "flow.tools.power (VCD)", "activity.json"),
        "power_silent_nets": Metric(silent, "nets", "flow.tools.power (never toggle in the window)",
                                    "activity.json"),
        "power_mean_activity": Metric(round(sum(a for a, _ in act.nets.values()) / max(1, len(act.nets)), 5),
                                      "toggles/cycle", "flow.tools.power (VCD)", "activity.json"),
        "power_vcd_size": Metric(round(vcd_mb, 2), "MB", "flow.tools.power (VCD size, deleted after counting)", ""),
    })
    if model:
        m["energy_per_model_inference"] = Metric(
            round(energy * per_inference, 4), "pJ", f"flow (energy_per_inference x {per_inference} array passes "
            "per model inference, all layers; coefficient loads excluded: amortized over a batch)", src)
    for k, s in times.items():
        m[f"runtime_power_{k}"] = Metric(round(s, 2), "s", "flow (wall clock)", "")
    return m, times
