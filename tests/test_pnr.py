"""Place and route with graywolf + qrouter (qflow helpers), the rc2dly SPEF fix-up and the die picture."""
import re
import subprocess

import pytest

from flow import config, pdks
from flow.errors import ToolMissing
from flow.tools import qflow_pnr
from flow.tools.die_plot import render_die
from flow.tools.lefdef import read_def, route_elements, routes_of
from flow.tools.liberty import prepared_liberty
from flow.tools.spef import fix_rc2dly_spef, rc2dly_safe_rc, spef_summary
from flow.tools.yosys_synth import synthesize
from rtl_gen.generator import write_rtl

from .conftest import REPO

pytestmark = pytest.mark.eda



def mapped_netlist(cfg, pdk, work):
    """The flow's own synthesis of `cfg` on `pdk` (the netlist `flow run` places): netlist and prepared liberty."""
    lib = prepared_liberty(pdk)
    rtl = write_rtl(cfg.params, work / "rtl")
    syn = synthesize(rtl, "kan_array", pdk, lib, work / "synth", cfg.flow.clock_period_ns, cfg.flow.synth_strategy,
                     cfg.flow.booth)
    return syn.netlist, lib


@pytest.fixture(scope="module")
def tiny_sky130(tmp_path_factory):
    """The tiny config placed and routed on sky130hd (about 530 cells, ~10 s)."""
    work = tmp_path_factory.mktemp("pnr")
    pdk = pdks.resolve("sky130hd")
    netlist, lib = mapped_netlist(config.load(REPO / "configs/tiny.yaml"), pdk, work)
    placed = qflow_pnr.place(netlist, "kan_array", pdk, lib, work / "place")
    routed = qflow_pnr.route(placed, pdk, work / "route")
    return pdk, netlist, lib, placed, routed


def test_tiny_sky130_places_and_routes_with_zero_failed_nets(tiny_sky130):
    pdk, _, _, placed, routed = tiny_sky130
    m, r = placed.metrics, routed.metrics
    assert r["failed_nets"].value == 0 and r["routed_nets"].value > 500
    assert 300 < m["cells"].value < 1000 and m["buffers"].value > 0
    # utilization follows the requested density (decongest pads cells with fill)
    assert m["density"].value == pdks.resolve("sky130hd").pnr.density == 0.5
    assert 40 < m["utilization"].value < 60
    assert m["core_area"].value <= m["die_area"].value
    assert m["cell_area"].unit == "um^2" and m["cell_area"].source.startswith("top.def")
    layout = read_def(routed.def_path)
    assert sum(macro != pdk.fill for macro in layout.components.values()) == m["cells"].value
    assert r["wirelength"].value == pytest.approx(layout.wirelength_um, abs=0.01) and r["vias"].value > 1000
    assert sum(v.value for k, v in r.items() if k.startswith("wirelength_")) == \
        pytest.approx(r["wirelength"].value, rel=1e-4)
    # the pin-access swap took effect: no dfxtp_1 (its D pin is unreachable for qrouter)
    assert "sky130_fd_sc_hd__dfxtp_1 " not in placed.netlist.read_text()
    assert r["runtime"].unit == "s" and m["runtime_graywolf"].value > 0
    assert m["clock_buffers"].value == 8                    # blifFanout buffers the 80-flop clock (measured: 8)


def test_netlist_and_spef_agree_and_read_in_opensta(tiny_sky130):
    pdk, _, lib, placed, routed = tiny_sky130
    netlist = routed.netlist.read_text()
    assert "{" not in netlist and re.search(r"^module kan_array \(", netlist, re.M)
    s = spef_summary(routed.spef)
    assert s["unfixed_nodes"] == 0 and s["c_unit"] == "1 PF" and s["bus_delimiter"] == "[]"
    assert s["nets"] == routed.metrics["spef_nets"].value > 500
    assert 0.1 < s["total_cap"] < 10.0                        # pF: ~1 pF for ~530 nets of ~40 um
    spef = routed.spef.read_text()
    assert re.search(r"^\*\d+:\d+ ", spef, re.M) is None      # nodes are `*N:K` inside nets only
    names = re.findall(r"^\*\d+ (\S+)$", spef.split("*PORTS")[0], re.M)
    words = set(re.findall(r"[\w\[\]$.]+", netlist))
    assert names and all(n in words for n in names), [n for n in names if n not in words][:5]
    tcl = placed.work / "read.tcl"
    tcl.write_text(f"read_liberty {lib}\nread_verilog {routed.netlist}\nlink_design kan_array\n"
                   f"read_spef {routed.spef}\nexit\n")
    out = subprocess.run(["sta", "-no_init", str(tcl)], capture_output=True, text=True, timeout=120,
                         cwd=tcl.parent)   # sta writes .history_sta into its working folder
    warnings = [l for l in (out.stdout + out.stderr).splitlines()
                if re.match(r"(Warning|Error)", l) and "default_operating_condition" not in l]
    assert out.returncode == 0 and warnings == []


def test_die_png_written(tiny_sky130, tmp_path):
    pdk, _, _, _, routed = tiny_sky130
    png = render_die(routed.def_path, pdk, tmp_path / "die.png")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000


def test_placement_is_deterministic(tiny_sky130, tmp_path):
    pdk, netlist, lib, placed, _ = tiny_sky130
    again = qflow_pnr.place(netlist, "kan_array", pdk, lib, tmp_path / "again")
    comps = lambda p: re.search(r"^COMPONENTS.*?END COMPONENTS", p.read_text(), re.S | re.M).group(0)
    assert comps(again.def_path) == comps(placed.def_path)


def test_relief_placement_leaves_nets_unbuffered_at_the_given_density(tiny_sky130, tmp_path):
    """The retry for a macro that failed to route: no fanout buffers (the default placement has some), the
    density asked for, and the router gets the PDK's routing layers."""
    pdk, netlist, lib, placed, _ = tiny_sky130
    assert placed.metrics["clock_buffers"].value > 0
    relief = qflow_pnr.place(netlist, "kan_array", pdk, lib, tmp_path / "relief", density=0.3, relief=True)
    # what remains are synthesis's own buffers (insbuf on ports)
    assert relief.metrics["buffers"].value < placed.metrics["buffers"].value
    assert relief.metrics["clock_buffers"].value == 0
    assert relief.metrics["density"].value == 0.3 and relief.metrics["relief"].value == 1
    assert relief.layers == 6
    assert relief.metrics["die_area"].value > 1.4 * placed.metrics["die_area"].value
    # placed again in the same folder (as the macro flow does to fit a pin plan): only this die's edge obstructions
    again = qflow_pnr.place(netlist, "kan_array", pdk, lib, tmp_path / "relief", density=0.5)
    x1 = read_def(again.def_path).die[2] / read_def(again.def_path).units
    edges = {round(float(line.split()[3]), 1) for line in (tmp_path / "relief" / "top.obs").read_text().splitlines()}
    assert abs(max(edges) - x1) < 3         # the relief die is ~18% wider: its lines would reach further


WALLED_DEF = """VERSION 5.6 ;
DIVIDERCHAR "/" ;
BUSBITCHARS "[]" ;
DESIGN walled ;
UNITS DISTANCE MICRONS 200 ;
DIEAREA ( 0 0 ) ( 12000 24000 ) ;
TRACKS X 46 DO 130 STEP 92 LAYER li1 ;
TRACKS X 46 DO 130 STEP 92 LAYER met2 ;
TRACKS X 46 DO 65 STEP 184 LAYER met4 ;
TRACKS Y 34 DO 352 STEP 68 LAYER met1 ;
TRACKS Y 34 DO 176 STEP 136 LAYER met3 ;
TRACKS Y 340 DO 35 STEP 680 LAYER met5 ;
COMPONENTS 2 ;
- u1 sky130_fd_sc_hd__buf_1 + PLACED ( 3404 10000 ) N ;
- u2 sky130_fd_sc_hd__buf_1 + PLACED ( 8004 10000 ) N ;
END COMPONENTS
NETS 1 ;
- n
  ( u1 X )
  ( u2 A )
;
END NETS
END DESIGN
"""


def test_a_net_whose_only_way_leaves_the_masked_band_routes_in_the_last_pass(tmp_path):
    """u1 (x 17 um) drives u2 (x 40 um), both at y 50 um; walls on every layer close u1 in on three sides, open
    at y 95 um only: beyond the band the masked passes search (90 tracks, ~31 um of met1 tracks). Stage 1 and
    both masked passes fail (the window runs' count); the unmasked last pass routes it through the opening."""
    (tmp_path / "walled.def").write_text(WALLED_DEF)
    walls = [(10, 5, 12, 95), (24, 5, 26, 95), (10, 5, 26, 7)]
    obstructions = [f"obstruction {x0} {y0} {x1} {y1} {layer}" for x0, y0, x1, y1 in walls
                    for layer in ("li1", "met1", "met2", "met3", "met4", "met5")]
    routed, failed = qflow_pnr.route_only(tmp_path / "walled.def", pdks.resolve("sky130hd"), tmp_path / "route",
                                          passes=2, obstructions=obstructions)
    log = (tmp_path / "route" / "route.log").read_text()
    assert log.count("Failure on net n:") == 2 and "Failed to route net n" in log      # stage 1, two masked passes
    assert failed == []
    wires = route_elements(routes_of(routed.read_text())["n"])
    assert max(y for e in wires for _, y in e.points) > 95 * 200                        # through the opening


@pytest.mark.parametrize("pdk_name", ["osu018", "gf180mcu"])
def test_tiny_routes_on_other_pdks(pdk_name, tmp_path):
    pdk = pdks.resolve(pdk_name)
    netlist, lib = mapped_netlist(config.load(REPO / "configs/tiny.yaml"), pdk, tmp_path)
    placed = qflow_pnr.place(netlist, "kan_array", pdk, lib, tmp_path / "place")
    routed = qflow_pnr.route(placed, pdk, tmp_path / "route")
    assert routed.metrics["failed_nets"].value == 0 and routed.metrics["routed_nets"].value > 400
    assert placed.metrics["density"].value == pdks.resolve(pdk_name).pnr.density
    assert abs(placed.metrics["utilization"].value - 100 * pdks.resolve(pdk_name).pnr.density) < 15
    assert spef_summary(routed.spef)["unfixed_nodes"] == 0


RC2DLY_SAMPLE = """*SPEF "IEEE 1481.1999"
*DESIGN "top_route"
*DIVIDER /
*DELIMITER :
*BUS_DELIMITER <>
*T_UNIT 1 PS
*C_UNIT 1 FF
*R_UNIT 1 OHM

*NAME_MAP
*1 pe_0_0.psum[3]
*2 u_buf_1
*3 y[2]
*4 clk_bF$buf0
*5 u_ff_2

*PORTS
*3 O

*D_NET *1 0.0042
*CONN
*I *2:X O *D buf_2
*I *5:D I *L 0.0017
*CAP
1 1_1 0.0011
2 1_2 0.0014
*RES
1 *2:X 1_1 23.3
2 1_1 1_2 1.25
3 1_2 *5:D 0
*END

*D_NET *3 0.0020
*CONN
*P *3 O
*I *5:Q O *D dff
*CAP
1 3_1 0.0020
*RES
1 *5:Q 3_1 4.5
2 3_1 *3 0
*END
"""


def test_spef_fixer_on_rc2dly_sample(tmp_path):
    src, dst = tmp_path / "raw.spef", tmp_path / "fixed.spef"
    src.write_text(RC2DLY_SAMPLE)
    fix_rc2dly_spef(src, dst, delimiter=":", design="kan_array")
    text = dst.read_text()
    assert "*BUS_DELIMITER []" in text and "*C_UNIT 1 PF" in text and '*DESIGN "kan_array"' in text
    assert "*1 pe_0_0_psum_3_" in text and "*4 clk_bF_buf0" in text
    assert "*3 y[2]" in text                                   # a top-level port bit keeps its brackets
    assert "2 *1:1 *1:2 1.25" in text and "1 *3:1 0.0020" in text and "2 *3:1 *3 0" in text
    s = spef_summary(dst)
    assert s == {"nets": 2, "total_cap": pytest.approx(0.0062), "resistors": 5, "unfixed_nodes": 0,
                 "c_unit": "1 PF", "bus_delimiter": "[]"}
    assert spef_summary(src)["unfixed_nodes"] == 9              # N_K occurrences in *CAP and *RES



def test_rc2dly_runs_on_net_names_it_would_overflow_on(tmp_path):
    """rc2dly (qflow 1.3.17) aborts on enough 40-character net names (heap overflow by one byte per name):
    the flow lengthens them for rc2dly and the fixed SPEF names them as the netlist does."""
    nets = [f"net_{k:04d}_" + "x" * 31 for k in range(1, 120)]           # 40 characters each
    rc, safe = tmp_path / "top_route.rc", tmp_path / "safe.rc"
    rc.write_text("".join(f"{n} 1 sky130_fd_sc_hd__inv_2_{k}/Y 1 ( 1.5 0.001 sky130_fd_sc_hd__inv_2_{k + 1}/A ) \n"
                          for k, n in enumerate(nets, 1)))
    renamed = rc2dly_safe_rc(rc, safe)
    assert sorted(renamed.values()) == nets and all(len(n) == 41 for n in renamed)
    raw, fixed = tmp_path / "raw.spef", tmp_path / "fixed.spef"
    lib = prepared_liberty(pdks.resolve("sky130hd"))
    proc = subprocess.run([qflow_pnr.QFLOW_BIN / "rc2dly", "-D", ":", "-r", safe, "-l", lib, "-d", raw],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-300:]
    fix_rc2dly_spef(raw, fixed, net_names=renamed)
    names = set(re.findall(r"^\*\d+ (\S+)$", fixed.read_text(), re.M))
    assert set(nets) <= names and not names & set(renamed)
    assert spef_summary(fixed)["nets"] == len(nets)

def test_def_reader_sums_wires_and_vias(tmp_path):
    path = tmp_path / "t.def"
    path.write_text("""VERSION 5.6 ;
DESIGN t ;
UNITS DISTANCE MICRONS 200 ;
DIEAREA ( 0 0 ) ( 2000 1088 ) ;
ROW ROW_1 unithd 0 0 N DO 20 BY 1 STEP 92 0 ;
ROW ROW_2 unithd 0 544 FS DO 20 BY 1 STEP 92 0 ;
COMPONENTS 2 ;
- u1 inv + PLACED ( 46 0 ) N ;
- f1 fill + PLACED ( 138 0 ) N ;
END COMPONENTS
NETS 1 ;
- n1
( u1 Y ) ( u2 A )
+ ROUTED met1 ( 100 200 ) ( 300 * ) M1M2_PR
  NEW met2 ( 300 200 ) ( * 600 ) ;
END NETS
END DESIGN
""")
    layout = read_def(path)
    assert layout.units == 200 and layout.die_area_um2 == pytest.approx(10 * 5.44)
    assert layout.core_area_um2 == pytest.approx(20 * 0.46 * 5.44)
    assert layout.wire_by_layer == {"met1": pytest.approx(1.0), "met2": pytest.approx(2.0)}
    assert layout.vias == 1 and layout.components == {"u1": "inv", "f1": "fill"}


def test_missing_tool_names_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(qflow_pnr, "QFLOW_BIN", tmp_path)
    pdk = pdks.resolve("sky130hd")
    with pytest.raises(ToolMissing) as err:
        qflow_pnr.place(tmp_path / "x.v", "kan_array", pdk, tmp_path / "x.lib", tmp_path / "w")
    assert err.value.tool == "graywolf" and "apt-get install -y graywolf" in str(err.value)


def test_bad_density_is_a_user_error(tmp_path):
    pdk = pdks.resolve("sky130hd")
    with pytest.raises(qflow_pnr.PnrInputError, match="density 1.5 out of range") as err:
        qflow_pnr.place(tmp_path / "x.v", "kan_array", pdk, tmp_path / "x.lib", tmp_path / "w", density=1.5)
    assert err.value.exit_code == 2


def test_die_raster_draws_cells_outlines_fill_and_wires_where_they_are():
    from flow.tools.die_plot import CELL, EDGE, FILL_CELL, raster
    from flow.tools.lefdef import DefLayout
    layout = DefLayout(units=1000, die=(0, 0, 10000, 5000), placements=[("A", 1000, 1000), ("F", 5000, 3000)],
                       segments=[("met1", 0, 4000, 10000, 4000), ("met2", 8000, 0, 8000, 5000)])
    img, step = raster(layout, {"A": (2.0, 2.0), "F": (1.0, 1.0)}, "F", [(1, 0, 0), (0, 0, 1)], pixels=100)
    assert img.shape == (50, 100, 3) and step == 0.1          # [y, x, rgb], 0.1 um per pixel
    assert tuple(img[20, 20]) == CELL and tuple(img[10, 20]) == EDGE and tuple(img[20, 30]) == EDGE
    assert tuple(img[35, 55]) == FILL_CELL and tuple(img[5, 5]) == (255, 255, 255)
    assert tuple(img[40, 50]) == (255, 0, 0) and tuple(img[10, 80]) == (0, 0, 255)
    assert tuple(img[40, 80]) == (0, 0, 255)                  # met2 is drawn over met1


def test_die_raster_of_copies_is_the_raster_of_the_merged_layout():
    """A macro layout drawn at two offsets on the array's layout gives the image of one layout holding all three
    (the tiled die picture without reading the merged DEF)."""
    from flow.tools.die_plot import raster
    from flow.tools.lefdef import DefLayout
    top = DefLayout(units=1000, die=(0, 0, 10000, 5000), placements=[("A", 500, 500), ("MACRO", 4000, 0)],
                    segments=[("met2", 0, 2500, 10000, 2500)])
    macro = DefLayout(units=1000, die=(0, 0, 3000, 3000), placements=[("A", 0, 0), ("F", 2000, 2000)],
                      segments=[("met1", 0, 1000, 3000, 1000)])
    offsets = [(4000, 0), (7000, 2000)]
    merged = DefLayout(units=1000, die=top.die,
                       placements=top.placements + [(m, x + dx, y + dy) for dx, dy in offsets
                                                    for m, x, y in macro.placements],
                       segments=top.segments + [(n, a + dx, b + dy, c + dx, d + dy) for dx, dy in offsets
                                                for n, a, b, c, d in macro.segments])
    args = ({"A": (2.0, 2.0), "F": (1.0, 1.0)}, "F", [(1, 0, 0), (0, 0, 1)])
    img, _ = raster(top, *args, pixels=100, copies=[(macro, offsets)])
    assert (img == raster(merged, *args, pixels=100)[0]).all()
    assert tuple(img[10, 50]) == (255, 0, 0) and tuple(img[30, 90]) == (255, 0, 0)    # met1 of both copies
    assert (img != raster(top, *args, pixels=100)[0]).any()


def test_fill_cells_snap_to_the_par_files_site_grid():
    """The site grid that fill cells are put back on is the GrayWolf .par's (one place for it): sky130hd's
    cells sit at x = 0.23 + 0.46k um, 200 DEF units per um."""
    assert pdks.RECORDS["sky130hd"].pnr.snap_x
    assert qflow_pnr.par_grid_x((qflow_pnr.TEMPLATES / pdks.RECORDS["sky130hd"].pnr.par).read_text()) == (46, 92)
