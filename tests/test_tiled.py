"""Tiled physical flow (flow/tiled/) against the flat one on a 2x2 array at 3 bits, sky130hd: real tools.

Needs graywolf, qrouter, qflow, opensta, iverilog (marker eda: fails where one is missing) and the sky130hd
data (skips without it).
Runs once per module (~2-3 minutes on 2 cores: flat place+route dominates).
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from flow.config import load
from flow.errors import FlowError, ToolFailed
from flow.metrics import headline
from flow.pdks import RECORDS, PdkMissing, resolve

pytestmark = pytest.mark.eda

REPO = Path(__file__).resolve().parent.parent


def _pdk():
    try:
        return resolve("sky130hd")
    except PdkMissing as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    pdk = _pdk()
    from flow.tiled import run_tiled
    from flow.tools import qflow_pnr
    from flow.tools.liberty import prepared_liberty
    from flow.tools.opensta import run_sta
    from flow.tools.yosys_synth import simulatable_netlist, synthesize
    from flow.verify import run_cocotb
    from rtl_gen.generator import write_rtl

    cfg = load(REPO / "configs/b3.yaml", {"array": "2x2", "flow.verify_vectors": 200})
    work = tmp_path_factory.mktemp("tiled")
    tiled = run_tiled(cfg, work / "tiled", verify=True)
    cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cores)})       # one core: one window run at a time (the first run: all cores)
    try:
        again = run_tiled(cfg, work / "tiled_again", verify=False)
    finally:
        os.sched_setaffinity(0, cores)
    # without buffer trees: the clock and the load enable as one net each from the port
    plain = run_tiled(load(REPO / "configs/b3.yaml", {"array": "2x2", "flow.buffer_trees": False}),
                      work / "tiled_plain", verify=False)
    for res in (tiled, again, plain):      # with the headline metrics, as `flow run` records them
        res["metrics"].update(headline(res["metrics"]))

    lib = prepared_liberty(pdk)
    flat_dir = work / "flat"
    syn = synthesize(write_rtl(cfg.params, flat_dir), "kan_array", pdk, lib, flat_dir / "synth", 10.0)
    placed = qflow_pnr.place(syn.netlist, "kan_array", pdk, lib, flat_dir / "pnr")
    routed = qflow_pnr.route(placed, pdk, flat_dir / "pnr")
    sta = run_sta(routed.netlist, "kan_array", lib, pdk, flat_dir / "sta", 10.0, spef=routed.spef, stage="postroute")
    # the routed netlist (blif2Verilog, bus ports) flattened with the cells' liberty functions, as for tiled
    (flat_dir / "sim").mkdir()
    sim = run_cocotb(cfg.params, [simulatable_netlist(routed.netlist, lib, "kan_array", flat_dir / "sim")],
                     flat_dir / "cocotb", vectors=200, seed=1)
    flat = {"place": placed.metrics, "route": routed.metrics, "sta": sta.metrics, "sim": sim, "synth": syn.metrics}
    return {"cfg": cfg, "tiled": tiled, "again": again, "plain": plain, "flat": flat, "work": work, "pdk": pdk,
            "lib": lib}


def test_tiled_routes_and_passes_gate_level_check(runs):
    m = runs["tiled"]["metrics"]
    assert m["physical_mode"].value == "tiled"
    assert m["failed_nets"].value == 0 and m["macro_failed_nets"].value == 0
    assert m["verify_gates_vectors"].value >= 200 and m["verify_gates_mismatches"].value == 0
    assert m["wirelength"].value > 0 and m["wirelength"].unit == "um"
    assert not {"wirelength_um", "fmax_mhz", "wns_ns", "tns_ns", "place_cell_area_um2"} & set(m)   # no unit names
    # the headline is the tiled step's whole-array numbers and its post-route timing
    assert m["failed_nets"] is m["tiled_failed_nets"] and m["wirelength"] is m["tiled_wirelength"]
    assert m["cell_area"] is m["tiled_cell_area"] and m["die_area"] is m["tiled_die_area"]
    assert m["fmax"].value == m["postroute_fmax"].value and m["fmax"].tool.endswith("def_spef) [postroute]")
    assert m["postroute_hold_slack"].unit == "ns" and m["postroute_critical_arrival"].value > 0
    assert m["macro_place_tries_pe"].value >= 1 and m["macro_place_relief_bspline"].value in (True, False)
    # the die holds 4 PE macros and 2 B-spline macros plus channels
    assert m["die_area"].value > 4 * m["macro_area_pe"].value + 2 * m["macro_area_bspline"].value
    assert m["cells"].value == (4 * m["macro_cells_pe"].value + 2 * m["macro_cells_bspline"].value
                                + m["glue_cells"].value)
    for part in ("harden_bspline", "harden_pe", "floorplan", "route_top", "array_spef", "sta", "merge_def",
                 "die_png", "verify"):     # each part's wall clock and peak memory (the flow's Python alone > 50 MB)
        assert m[f"runtime_{part}"].unit == "s" and m[f"memory_{part}"].unit == "MB", part
        assert m[f"memory_{part}"].value > 50, part
    art = runs["tiled"]["artifacts"]
    assert art["png"].stat().st_size > 10_000
    merged = art["def"].read_text()
    assert "pe_1_1/" in merged and "bspline_1/" in merged          # every macro's cells are in the merged DEF


def test_post_route_clock_network_is_reported(runs):
    """The propagated clock's latency at every register clock pin and the worst skew, flat and tiled: every
    register is a sink (the tiled array's are inside its macros, a few more than flat: flat synthesis merges
    registers across module boundaries, 2x2: 407 vs 437), latencies are ordered, and the skew of a pair lies
    within the latency spread."""
    flat, tiled = runs["flat"]["sta"], runs["tiled"]["metrics"]
    assert flat["postroute_clock_sinks"].value == runs["flat"]["synth"]["registers"].value
    assert flat["postroute_clock_sinks"].value <= tiled["postroute_clock_sinks"].value
    assert tiled["postroute_clock_sinks"].value <= 1.1 * flat["postroute_clock_sinks"].value
    for m in (flat, tiled):
        lo, hi, skew = (m[f"postroute_clock_{k}"].value for k in ("latency_min", "latency_max", "skew"))
        assert 0 <= lo < hi < 2.0 and 0 < skew <= hi - lo + 1e-4
        assert {m[f"postroute_clock_{k}"].unit for k in ("latency_min", "latency_max", "skew")} == {"ns"}


def test_broadcast_nets_are_driven_through_buffer_trees(runs):
    """The clock (every register of the array) goes through a tree of clock buffers: no array-level net drives
    more than FANOUT cell inputs, the glue has the tree's buffers more than without trees, the port drives the
    root alone (a tree buffer: the levels above the leaves have the stronger cell), and the clock's latency now
    includes the buffers (the plain net's nearest pin is ~0 ns)."""
    from flow.tiled.buffertree import FANOUT
    m, plain = runs["tiled"]["metrics"], runs["plain"]["metrics"]
    placed = (runs["tiled"]["artifacts"]["def"].parent / "route" / "kan_array_placed.def").read_text()
    nets = {n: re.findall(r"\(\s*(\S+)\s+(\S+)\s*\)", body) for n, body in
            re.findall(r"^-\s+(\S+)\n(.*?)^;", placed[placed.index("\nNETS"):], re.M | re.S)}
    assert nets["sys_clk"] == [("PIN", "sys_clk"), (nets["sys_clk"][1][0], "A")]
    assert nets["sys_clk"][1][0].startswith(RECORDS["sky130hd"].tree_buffer.cell + "_")
    assert max(len(c) for c in nets.values()) <= FANOUT + 1          # the driver and at most FANOUT sinks
    assert m["tree_nets"].value >= 1 and m["tree_levels"].value >= 2 and plain["tree_buffers"].value == 0
    assert m["glue_cells"].value == plain["glue_cells"].value + m["tree_buffers"].value
    assert m["postroute_clock_sinks"].value == plain["postroute_clock_sinks"].value
    assert plain["postroute_clock_latency_min"].value < 0.05 < m["postroute_clock_latency_min"].value
    assert m["failed_nets"].value == 0


def test_window_runs_at_once_route_the_same(runs):
    """The window runs of the first run went as many at once as there are cores, the second's one at a time:
    the routed array DEFs are the same byte for byte."""
    one, many = (runs[k]["artifacts"]["def"].parent / "route" / "kan_array_routed.def" for k in ("again", "tiled"))
    assert runs["tiled"]["metrics"]["window_workers"].value == len(os.sched_getaffinity(0))
    assert runs["again"]["metrics"]["window_workers"].value == 1
    assert one.read_text() == many.read_text()


def test_array_nets_are_routed_in_windows_without_shorts(runs):
    """Most array-level nets are routed in windows; the merged routes have no short on the grid, and every net
    of the placed DEF comes back routed."""
    from flow.tools.lefdef import routes_of
    m, work = runs["tiled"]["metrics"], runs["tiled"]["artifacts"]["def"].parent
    placed = (work / "route" / "kan_array_placed.def").read_text()
    n_nets = int(re.search(r"^NETS (\d+) ;", placed, re.M).group(1))
    assert m["window_fallback"].value == 0 and m["window_grid_shorts"].value == 0
    assert m["window_runs"].value >= 1 and m["window_routed_nets"].value > 0.9 * n_nets
    # without buffer trees the clock is too long for a window: routed in pieces, joined by its spine
    assert runs["plain"]["metrics"]["window_pieced_nets"].value >= 1
    assert runs["plain"]["metrics"]["failed_nets"].value == 0
    routed = routes_of((work / "route" / "kan_array_routed.def").read_text())
    assert len(routed) == n_nets and "sys_clk" in routed


def test_tiled_matches_flat(runs):
    t, f = runs["tiled"]["metrics"], runs["flat"]
    assert f["route"]["failed_nets"].value == 0
    assert f["sim"].passed and f["sim"].mismatches == 0
    # standard-cell area: each module is mapped alone in both flows, so the logic is the same (without the
    # broadcast buffer trees, which only tiled builds: they add about 1%)
    flat_area, plain_area = f["synth"]["cell_area"].value, runs["plain"]["metrics"]["cell_area"].value
    assert abs(plain_area - flat_area) / flat_area < 0.01
    assert 0 < t["cell_area"].value - plain_area < 0.02 * flat_area
    flat_fmax = f["sta"]["postroute_fmax"].value
    print(f"\n2x2 b3 sky130hd: cell_area tiled {t['cell_area'].value} flat {flat_area} um^2; placed cell area tiled "
          f"{t['place_cell_area'].value} flat {f['place']['cell_area'].value} um^2; fmax tiled "
          f"{t['fmax'].value} flat {flat_fmax} MHz; die tiled {t['die_area'].value} flat "
          f"{f['place']['die_area'].value} um^2; flat place {f['place']['runtime'].value} s route "
          f"{f['route']['runtime'].value} s")
    assert abs(t["fmax"].value - flat_fmax) / flat_fmax < 0.10


def test_macros_come_from_the_cache(runs):
    first, again = runs["tiled"]["metrics"], runs["again"]["metrics"]
    assert again["macro_cache_hits"].value == 2
    assert again["fmax"].value == first["fmax"].value
    assert again["cell_area"].value == first["cell_area"].value


def test_pins_face_their_neighbours(runs):
    """East outputs at the y of the matching west inputs, south outputs at the x of the north inputs."""
    lef = next(p for p in runs["tiled"]["artifacts"]["lef"] if "kan_pe" in p.read_text()[:200])
    rects = {m[0]: tuple(map(float, m[1:])) for m in re.findall(
        r"PIN (\S+)\n.*?RECT (\S+) (\S+) (\S+) (\S+) ;", lef.read_text(), re.S)}
    size = tuple(map(float, re.search(r"SIZE (\S+) BY (\S+)", lef.read_text()).groups()))
    for k in range(3):
        w, e = rects[f"basis_in_1[{k}]"], rects[f"basis_out_1[{k}]"]
        assert w[0] == 0.0 and e[2] == size[0] and w[1] == e[1]
    for k in range(8):
        n, s = rects[f"load_in[{k}]"], rects[f"load_out[{k}]"]
        assert n[3] == size[1] and s[1] == 0.0 and n[0] == s[0]


def test_pins_are_spread_and_the_pe_lines_up_with_the_bspline(runs):
    """Edge pins sit evenly 3..MAX_SPREAD tracks apart (packed 2 apart they made a hot spot an 8-bit PE could not
    route), and the PE's west pins are at the y of the B-spline unit's east pins."""
    from flow.tools.macro import MAX_SPREAD
    pe_lef, bs_lef = runs["tiled"]["artifacts"]["lef"]

    def rects(lef):
        return {m[0]: tuple(map(float, m[1:])) for m in re.findall(
            r"PIN (\S+)\n.*?RECT (\S+) (\S+) (\S+) (\S+) ;", lef.read_text(), re.S)}
    pe, bs = rects(pe_lef), rects(bs_lef)
    east = ["m[0]", "m[1]", "m[2]"] + [f"basis_{j}[{k}]" for j in range(4) for k in range(3)]
    ys = [bs[n][1] for n in east]
    steps = {round(b - a, 3) for a, b in zip(ys, ys[1:])}
    assert len(steps) == 1 and 3 * 0.68 <= steps.pop() <= MAX_SPREAD * 0.68 + 1e-6      # sky130 met3 pitch
    assert [pe[n.replace("m[", "m_in[").replace("basis_", "basis_in_")][1] for n in east] == ys


def test_pins_are_entered_straight_from_the_edge(runs):
    """No macro wire runs along an edge grid line on a pin layer: every rectangle of a pin that reaches the edge
    line holds the pin's centre line (such a jog made the pin's neighbours unreachable at array level on 5 of
    14 sky130hd nightly points). Jogs one grid line further in stay inside the macro and are harmless."""
    for lef in runs["tiled"]["artifacts"]["lef"]:
        text = lef.read_text()
        w, h = map(float, re.search(r"SIZE (\S+) BY (\S+)", text).groups())
        pins = re.findall(r"PIN (\S+)\n.*?PORT\n(.*?)    END\n", text, re.S)
        assert len(pins) > 20
        for name, port in pins:
            rects = [tuple(map(float, r)) for r in re.findall(r"RECT (\S+) (\S+) (\S+) (\S+) ;", port)]
            x0, y0, x1, y1 = rects[0]          # the pin's own square at the edge
            side = "W" if x0 == 0 else "E" if x1 == w else "S" if y0 == 0 else "N"
            assert side != "N" or y1 == h
            for a, b, c, d in rects:
                at_edge = {"W": a < 0.2, "E": c > w - 0.2, "S": b < 0.2, "N": d > h - 0.2}[side]
                holds = b <= (y0 + y1) / 2 <= d if side in "WE" else a <= (x0 + x1) / 2 <= c
                assert holds or not at_edge, f"{lef.name}: pin {name} jogs along the edge: {(a, b, c, d)}"


def test_unreachable_macro_pin_is_named(runs, tmp_path):
    """A macro pin buried under an obstruction fails the array route with the macro and pin named."""
    from flow.tiled import route_array
    work = runs["tiled"]["artifacts"]["def"].parent
    pe_lef, bs_lef = runs["tiled"]["artifacts"]["lef"]
    text = pe_lef.read_text()
    rect = re.search(r"PIN m_in\[1\]\n.*?LAYER (\S+) ;\s+RECT (\S+) (\S+) (\S+) (\S+) ;", text, re.S)
    layer, x0, y0, x1, y1 = rect.group(1), *map(float, rect.groups()[1:])
    blocked = text.replace("  OBS\n", f"  OBS\n    LAYER {layer} ;\n      RECT {x0 - 2:.3f} {y0 - 2:.3f} "
                                      f"{x1 + 2:.3f} {y1 + 2:.3f} ;\n", 1)
    bad_lef = tmp_path / "kan_pe_blocked.lef"
    bad_lef.write_text(blocked)
    nets = _nets_of(work / "route" / "kan_array_placed.def")
    with pytest.raises(ToolFailed) as exc:
        route_array(work / "route" / "kan_array_placed.def", work / "kan_array_top.v", [bad_lef, bs_lef], nets,
                    runs["pdk"], runs["lib"], tmp_path / "route")
    msg = str(exc.value)
    assert "macro kan_pe pin m_in[1]" in msg and "pe_" in msg and "log:" in msg


def _nets_of(def_path: Path) -> dict:
    body = re.search(r"^NETS \d+ ;\n(.*?)^END NETS", def_path.read_text(), re.S | re.M).group(1)
    return {name: re.findall(r"\(\s*(\S+)\s+(\S+)\s*\)", conns)
            for name, conns in re.findall(r"^- (\S+)\n(.*?)^;", body, re.S | re.M)}


def test_tiled_without_tie_cells_ties_to_the_ground_net(tmp_path):
    """osu018 has no tie cells: row 0's constant psum_in joins the ground net, qrouter routes it to a ground
    rail, and the routed array still matches the golden model."""
    from flow.tiled import run_tiled
    try:
        resolve("osu018")
    except PdkMissing as exc:
        pytest.skip(str(exc))
    cfg = load(REPO / "configs/tiny.yaml", {"pdk": "osu018", "flow.physical": "tiled"})
    res = run_tiled(cfg, tmp_path, verify=True)
    m = res["metrics"]
    assert m["tiled_failed_nets"].value == 0 and m["verify_gates_mismatches"].value == 0
    assert m["verify_gates_vectors"].value >= 200
    top = (tmp_path / "kan_array_top.v").read_text()
    assert "wire gnd = 1'b0;" in top and ".psum_in({gnd, gnd" in top
    gnd = _nets_of(tmp_path / "route" / "kan_array_placed.def")["gnd"]
    assert sorted(gnd) == sorted((f"pe_0_{j}", f"psum_in[{k}]") for j in range(2) for k in range(8))


def test_bad_pin_plan_is_a_clear_error(runs, tmp_path):
    """A pin plan that does not cover the macro's ports names the macro and the unplanned ports."""
    import json

    from flow.tools.liberty import CACHE
    from flow.tools.macro import MacroPins, place_edge_pins
    # a sky130hd macro that `runs` hardened, in the cache the flow used (KAN_CACHE or build/.cache): a finished
    # entry (a .tmp-* work folder that a killed build left has a key but maybe no DEF yet)
    pe_def = next(key.parent / "pnr" / "top.def" for key in sorted((CACHE / "macros").glob("*/key.json"))
                  if not key.parent.name.startswith(".") and json.loads(key.read_text())["pdk"] == "sky130hd")
    copy = tmp_path / "top.def"
    copy.write_text(pe_def.read_text())
    with pytest.raises(FlowError, match=r"macro kan_x: pin plan does not match"):
        place_edge_pins(copy, "kan_x", MacroPins(rows=[("nope", None)], cols=[]), RECORDS["sky130hd"].layers)


def test_array_spef_covers_every_net_and_opensta_reads_it(runs):
    """The array level's SPEF (def_spef) holds every net of the routed DEF, where rc2dly's left out the clock,
    load enable and macro-driven nets; OpenSTA reads it next to the macros' SPEFs without a "not found", and
    times a clock net with its whole wire: the array's and the PE/B-spline macros' port-net wire up to the cells."""
    import subprocess

    from flow.tools.spef import spef_summary
    m, art = runs["tiled"]["metrics"], runs["tiled"]["artifacts"]
    work = art["def"].parent
    spef = art["spef"][0]
    routed = (work / "route" / "kan_array_routed.def").read_text()      # window routes + the full-die run's
    nets = re.search(r"^NETS \d+ ;\n(.*?)^END NETS", routed, re.S | re.M).group(1)
    n_nets = len(re.findall(r"^- ", nets, re.M))
    s = spef_summary(spef)
    assert m["array_spef_nets"].value == s["nets"] == n_nets > 200
    assert m["array_spef_rc_nets"].value == n_nets               # every array-level net is routed and has loads
    assert m["array_spef_missing"].value == 0 and m["array_spef_no_driver_nets"].value == 0
    assert "array_rc2dly_spef_nets" not in m       # routed in windows: no whole rc2dly SPEF (never used)
    assert m["array_spef_macro_pins_expanded"].value > 4 * 50     # every PE pin an array net reaches
    assert 0 < m["array_wire_cap"].value < m["array_net_cap_total"].value == pytest.approx(s["total_cap"],
                                                                                                abs=1e-3)
    # the clock tree's leaf net with the most capacitance (its wire reaches into the macros it drives)
    clk, leaf = max((float(c), n) for n, c in re.findall(r"^\*D_NET (sys_clk_tree0_\d+) (\S+)", spef.read_text(), re.M))
    log = (work / "sta" / "sta_postroute.log").read_text()
    assert not re.search(rf"{re.escape(spef.name)}, line \d+ .*not found", log)
    tcl = (work / "sta" / "sta_postroute.tcl").read_text()
    head = tcl[:tcl.index("create_clock")]
    (work / "sta" / "net.tcl").write_text(head + f"report_net -connections -verbose -digits 5 {leaf}\n")
    out = subprocess.run(["sta", "-no_splash", "-exit", "net.tcl"], capture_output=True, text=True, timeout=120,
                         cwd=work / "sta").stdout
    wire = float(re.search(r"^ Wire capacitance: (?:r )?(\S+)", out, re.M).group(1))
    pins = float(re.search(r"^ Pin capacitance: (?:r )?(\S+)", out, re.M).group(1))
    assert wire == pytest.approx(clk, abs=1e-4) and clk > 0.005    # pF (rc2dly's SPEF: none)
    assert pins > 0.01                                            # the clock pins inside the macros count too


def test_rows_are_as_tall_as_the_taller_macro():
    """A B-spline unit taller than the PE (placed with relief) must not overlap the next row's."""
    from flow.tools.floorplan import plan_array
    from flow.tools.macro import Abstract
    tracks = {("X", "met2"): (0, 100, 92), ("Y", "met3"): (0, 100, 68)}
    pe = Abstract("kan_pe", Path("pe.lef"), 200, (0, 0, 20000, 20000), {}, tracks=tracks)
    bs = Abstract("kan_bspline", Path("bs.lef"), 200, (0, 0, 30000, 50000), {}, tracks=tracks)
    _, insts, _ = plan_array(3, 2, pe, bs, {"W": 0, "S": 0, "N": 0}, channel_um=10)
    boxes = [(m.x, m.y, m.x + m.width, m.y + m.height) for m in insts.values()]
    overlaps = [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]]
    assert overlaps == [] and len(insts) == 9


def test_edge_keepouts_leave_a_gap_only_at_the_pins(tmp_path):
    """The edge grid lines on the pin layers are blocked except at each pin: the pin's own wire keeps its
    spacing to the blockage, the grid points next to it along the edge are covered (no jog)."""
    from flow.tools.macro import PlacedPin, edge_keepouts
    pdk = _pdk()
    die = tmp_path / "top.def"
    die.write_text("VERSION 5.6 ;\nDESIGN top ;\nUNITS DISTANCE MICRONS 200 ;\nDIEAREA ( 0 0 ) ( 4048 4080 ) ;\n"
                   "TRACKS X 0 DO 45 STEP 92 LAYER met2 ;\nTRACKS Y 0 DO 61 STEP 68 LAYER met1 ;\n"
                   "TRACKS Y 0 DO 31 STEP 136 LAYER met3 ;\nEND DESIGN\n")
    pins = {"a": PlacedPin("a", "W", "met3", 0, 1360), "b": PlacedPin("b", "N", "met2", 920, 4080)}
    rects = [(float(a), float(b), float(c), float(d), layer) for a, b, c, d, layer in
             (line.split()[1:] for line in edge_keepouts(die, pins, pdk.layers, [pdk.tech_lef, pdk.cell_lef]))]

    def covered(x, y, layer, halo):   # a point within `halo` um of a blockage on `layer`
        return any(l == layer and a - halo < x < c + halo and b - halo < y < d + halo for a, b, c, d, l in rects)
    assert not covered(0, 6.8, "met3", 0.15 + 0.3)               # pin a: met3 half width + spacing
    assert covered(0, 6.8 + 0.34, "met3", 0.15) and covered(0, 6.8 - 0.34, "met3", 0.15)
    assert not covered(4.6, 20.4, "met2", 0.07 + 0.14)           # pin b on the north edge
    assert covered(4.6 + 0.46, 20.4, "met2", 0.07) and covered(4.6 - 0.46, 20.4, "met2", 0.07)
    assert covered(0, 6.8, "met2", 0.07) and covered(20.24, 6.8, "met3", 0.15)   # no pin there: blocked
    assert not covered(0.46, 6.8 + 0.34, "met3", 0.15)           # the next grid line inward stays free


def test_first_pins_sit_one_track_inside_the_core(tmp_path):
    """With sky130hd's track offsets the first west/east row (met3) and north/south column (met2) are one pitch
    inside the core, clear of place2def's die-margin blockage: a pin at y=0 (0.06 um above the met3 margin
    blockage) or inside the west margin's met2 blockage was boxed in at a corner by the edge keep-outs."""
    from flow.tools.macro import MacroPins, place_edge_pins
    die = tmp_path / "top.def"
    die.write_text("VERSION 5.6 ;\nDESIGN top ;\nUNITS DISTANCE MICRONS 200 ;\nDIEAREA ( -368 -340 ) ( 7000 7000 ) ;\n"
                   "TRACKS Y -340 DO 108 STEP 68 LAYER met1 ;\nTRACKS X -368 DO 80 STEP 92 LAYER met2 ;\n"
                   "TRACKS Y -272 DO 53 STEP 136 LAYER met3 ;\n"
                   "PINS 3 ;\n- a + NET a\n  + LAYER met3 ( -14 -14 ) ( 14 14 )\n  + PLACED ( 0 0 ) N ;\n"
                   "- b + NET b\n  + LAYER met3 ( -14 -14 ) ( 14 14 )\n  + PLACED ( 0 0 ) N ;\n"
                   "- c + NET c\n  + LAYER met2 ( -14 -14 ) ( 14 14 )\n  + PLACED ( 0 0 ) N ;\nEND PINS\nEND DESIGN\n")
    die.with_suffix(".obs").write_text("obstruction -2.3 -2.04 36.0 -0.06 li1\nobstruction -2.3 -0.06 0.0 35.0 met2\n"
                                       "obstruction 0.0 -2.04 34.0 -0.06 met3\nobstruction -2.3 -2.04 0.0 35.0 li1\n")
    pins = place_edge_pins(die, "m", MacroPins(rows=[("a", None), ("b", None)], cols=[("c", None)], spacing=3),
                           RECORDS["sky130hd"].layers)
    assert (pins["a"].y, pins["b"].y, pins["c"].x) == (136, 136 + 3 * 136, 92)
    die.with_suffix(".obs").unlink()       # no margin file: the die corner bounds the core, 2 tracks in as before
    pins = place_edge_pins(die, "m", MacroPins(rows=[("a", None), ("b", None)], cols=[("c", None)], spacing=3),
                           RECORDS["sky130hd"].layers)
    assert (pins["a"].y, pins["c"].x) == (0, -184)


def test_a_failed_macro_route_is_cached(tmp_path, monkeypatch):
    """A macro whose route fails after every try is kept as a failure: the next point needing it fails at once
    with the same log path instead of rebuilding it (the 2x2 and 4x4 nightly points share their macros)."""
    from types import SimpleNamespace

    import flow.tiled.macros as macros
    from flow.errors import RouteIncomplete
    from flow.tools.macro import MacroPins
    builds = []

    def failing_build(module, plan, cfg, pdk, liberty, text, free_layers, work, final):
        builds.append(work)
        (work / "pnr").mkdir()
        raise RouteIncomplete("route", str(work / "pnr" / "route.log"), 3, 900)
    monkeypatch.setattr(macros, "CACHE", tmp_path)
    monkeypatch.setattr(macros, "build_macro", failing_build)
    cfg = load(REPO / "configs/b3.yaml", {"array": "2x2"})
    args = ("kan_pe", MacroPins(rows=[], cols=[]), cfg, SimpleNamespace(name="sky130hd"), Path("x.lib"),
            "module kan_pe(\n);\nendmodule\n", ("met5",))
    with pytest.raises(RouteIncomplete) as first:
        macros.harden(*args)
    with pytest.raises(RouteIncomplete, match="cached failure") as second:
        macros.harden(*args)
    assert len(builds) == 1 and first.value.failed == second.value.failed == 3
    failed_dir = next(tmp_path.glob("macros/*.failed"))
    assert first.value.log == second.value.log == str(failed_dir / "pnr" / "route.log")
    assert (failed_dir / "pnr").is_dir() and not list(tmp_path.glob("macros/.tmp-*"))
    # deleting the failure rebuilds; the work folder a killed builder left for the same key goes with it
    key = failed_dir.name.removesuffix(".failed")
    shutil.rmtree(failed_dir)
    (tmp_path / "macros" / f".tmp-{key}-999999" / "pnr").mkdir(parents=True)
    with pytest.raises(RouteIncomplete):
        macros.harden(*args)
    assert len(builds) == 2 and not list(tmp_path.glob("macros/.tmp-*"))


def test_a_corrupt_macro_cache_entry_is_built_again(tmp_path, monkeypatch, capsys):
    """A macro cache entry cut short or edited (macro.json, failure.json) is reported and built again, never a
    crash: the builder runs again for the key (here one that fails, so nothing else is needed)."""
    from types import SimpleNamespace

    import flow.tiled.macros as macros
    from flow.errors import RouteIncomplete
    from flow.tools.macro import MacroPins
    builds = []

    def failing_build(module, plan, cfg, pdk, liberty, text, free_layers, work, final):
        builds.append(work)
        raise RouteIncomplete("route", str(work / "route.log"), 3, 900)
    monkeypatch.setattr(macros, "CACHE", tmp_path)
    monkeypatch.setattr(macros, "build_macro", failing_build)
    cfg = load(REPO / "configs/b3.yaml", {"array": "2x2"})
    args = ("kan_pe", MacroPins(rows=[], cols=[]), cfg, SimpleNamespace(name="sky130hd"), Path("x.lib"),
            "module kan_pe(\n);\nendmodule\n", ("met5",))
    with pytest.raises(RouteIncomplete):
        macros.harden(*args)
    failed_dir = next(tmp_path.glob("macros/*.failed"))
    (failed_dir / "failure.json").write_bytes(b'{"log": "/x", "fail')              # cut short
    with pytest.raises(RouteIncomplete, match="^macro kan_pe route failed"):      # built again, not "cached failure"
        macros.harden(*args)
    assert len(builds) == 2 and "failure.json is unreadable (JSONDecodeError" in capsys.readouterr().out
    key = failed_dir.name.removesuffix(".failed")
    shutil.rmtree(failed_dir)
    (tmp_path / "macros" / key).mkdir()
    (tmp_path / "macros" / key / "macro.json").write_bytes(b"\xff\xfe not json")  # a finished entry, garbled
    with pytest.raises(RouteIncomplete, match="^macro kan_pe route failed"):
        macros.harden(*args)
    assert len(builds) == 3 and "macro.json is unreadable (UnicodeDecodeError" in capsys.readouterr().out
    assert not (tmp_path / "macros" / key).exists()


def test_tiled_power_splits_by_module_and_sums_to_the_total(runs, tmp_path):
    """The power workload on the tiled netlist (macros' routed netlists, every SPEF by instance path): every driven
    net of every macro instance gets its toggles, and the PE, B-spline and glue figures add up to the total."""
    from flow.tools.power import workload_power
    art = runs["tiled"]["artifacts"]
    m, _ = workload_power(runs["cfg"].params, art["netlist"][0], runs["lib"], art["spefs"], tmp_path, 10.0, 100, 1)
    v = {k: x.value for k, x in m.items()}
    assert v["power_unannotated_nets"] == 0 and v["power_cycles"] == 100
    parts = [v["power_module_pe"], v["power_module_bspline"], v["power_module_glue"]]
    assert all(p > 0 for p in parts) and sum(parts) == pytest.approx(v["power_total"], rel=1e-5)
    assert v["power_module_pe"] > v["power_module_bspline"]           # 4 PEs vs 2 B-spline units


def test_gate_check_simulates_glue_and_two_rows_of_pes_as_gates(tmp_path):
    from flow.verify import gate_check_scope
    p = load(REPO / "configs/b3.yaml").params                                       # 4x4
    rtl = {"kan_pe": "module kan_pe(); endmodule", "kan_bspline": "module kan_bspline(); endmodule"}
    scope, gates, path = gate_check_scope(p, "macros", tmp_path, rtl)
    assert gates == {"kan_pe": [f"pe_{r}_{c}" for r in (0, 3) for c in range(4)], "kan_bspline": None}
    assert path.read_text().count("endmodule") == 2 and "8 of 16 PEs" in scope
    assert gate_check_scope(p, "full", tmp_path, rtl)[1] == {"kan_pe": None, "kan_bspline": None}


def test_gate_check_catches_a_macro_fault_and_a_glue_fault(runs, tmp_path):
    """A fault in the PE's routed netlist (psum_in[0] stuck at 0 inside the macro) fails the check with every PE
    as gates and with only pe_1_0 as gates (the rest RTL); one swapped glue connection (two basis bits into
    pe_1_1) fails it with every macro as RTL; the netlist as routed passes with pe_1_0 alone as gates."""
    from flow.tiled.rtl import module_text
    from flow.tools.yosys_synth import simulatable_netlist
    from flow.verify import gate_check_scope, run_cocotb
    p, lib = runs["cfg"].params, runs["lib"]
    routed = runs["tiled"]["artifacts"]["netlist"][0]
    text = routed.read_text()
    pe = re.search(r"^module kan_pe\s*\(.*?^endmodule", text, re.S | re.M).group(0)
    assert pe.count("(psum_in[0])") >= 1
    (tmp_path / "macro_fault.v").write_text(text.replace(pe, pe.replace("(psum_in[0])", "(VGND)")))
    inst = re.search(r"^\s*kan_pe pe_1_1 \(.*$", text, re.M).group(0)
    swapped = re.sub(r"\.basis_in_0\(\{(\w+), (\w+), (\w+)\}\)", r".basis_in_0({\1, \3, \2})", inst)
    assert swapped != inst
    (tmp_path / "glue_fault.v").write_text(text.replace(inst, swapped))
    rtl_text = (runs["tiled"]["artifacts"]["def"].parent / "kan_array.v").read_text()
    full = gate_check_scope(p, "full", tmp_path, {})[1]
    rtl = gate_check_scope(p, "macros", tmp_path, {m: module_text(rtl_text, m) for m in ("kan_pe", "kan_bspline")})[2]
    cases = {"routed, pe_1_0 as gates": (routed, {"kan_pe": ["pe_1_0"], "kan_bspline": None}, True),
             "macro fault, all gates": (tmp_path / "macro_fault.v", full, False),
             "macro fault, pe_1_0 as gates": (tmp_path / "macro_fault.v", {"kan_pe": ["pe_1_0"], "kan_bspline": []},
                                              False),
             "glue fault, macros as RTL": (tmp_path / "glue_fault.v", {"kan_pe": [], "kan_bspline": []}, False)}
    for k, (netlist, macros, ok) in enumerate(cases.values()):
        sim = simulatable_netlist(netlist, lib, "kan_array", tmp_path / f"sim{k}", macros=macros, rtl=rtl)
        res = run_cocotb(p, [sim], tmp_path / f"cocotb{k}", vectors=60, seed=2)
        assert (res.passed, res.mismatches == 0) == (ok, ok), list(cases)[k]
