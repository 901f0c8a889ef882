"""Activity-annotated power (flow/tools/power.py): a hand calculation from the liberty tables, VCD toggle counts,
OpenSTA reading back every annotated pin, and the failure of a run that stops early."""
import re
from pathlib import Path

import pytest

from flow.errors import ToolFailed
from flow.pdks import resolve
from flow.tools import power
from flow.tools.liberty import prepared_liberty

pytestmark = pytest.mark.eda

BUF, FLOP = "sky130_fd_sc_hd__buf_2", "sky130_fd_sc_hd__dfxtp_1"
NETLIST = f"""module t (a, clk, d, y, q);
input a; input clk; input d; output y; output q;
{BUF} u1 ( .A(a), .X(y) );
{FLOP} u2 ( .CLK(clk), .D(d), .Q(q) );
endmodule
"""
WIRE_PF = 0.0042902380        # a load index of the buffer's power table: the lookup needs no load interpolation
# (a 1 mOhm wire to the port: OpenSTA reduces a net's parasitics from its driver through the resistors)
SPEF = f"""*SPEF "IEEE 1481-1998"
*DESIGN "t"
*DATE "x"
*VENDOR "x"
*PROGRAM "x"
*VERSION "x"
*DESIGN_FLOW "x"
*DIVIDER /
*DELIMITER :
*BUS_DELIMITER []
*T_UNIT 1 NS
*C_UNIT 1 PF
*R_UNIT 1 OHM
*L_UNIT 1 HENRY

*PORTS
y O

*D_NET y {WIRE_PF}
*CONN
*P y O
*I u1:X O
*CAP
1 y {WIRE_PF}
*RES
1 u1:X y 0.001
*END
"""


def _cell(text: str, cell: str) -> str:
    start = text.index(f'cell ("{cell}")')
    return text[start:text.index("\n    cell (", start + 10)]


def _table(block: str, kind: str) -> tuple[list[float], list[float] | None, list[list[float]]]:
    body = block[block.index(kind):]
    body = body[:body.index("}")]
    nums = lambda s: [float(v) for v in s.replace("\\", "").replace('"', "").replace("\n", " ").split(",")]
    i1 = nums(re.search(r'index_1\("([^"]*)"\)', body).group(1))
    i2 = re.search(r'index_2\("([^"]*)"\)', body)
    rows = [nums(r) for r in re.findall(r'"([^"]*)"', re.search(r"values\((.*?)\);", body, re.S).group(1))]
    return i1, nums(i2.group(1)) if i2 else None, rows


def _at_slew_zero(i1: list[float], column: list[float]) -> float:
    """Linear extrapolation to slew 0 from the first two points (an ideal input port has slew 0)."""
    return column[0] - (column[1] - column[0]) / (i1[1] - i1[0]) * i1[0]


@pytest.fixture(scope="module")
def sky130():
    return prepared_liberty(resolve("sky130hd"))


def _run(tmp_path, liberty, activity, netlist=NETLIST, spef=SPEF, **kw):
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "t.v").write_text(netlist)
    (tmp_path / "t.spef").write_text(spef)
    return power.run_power(tmp_path / "t.v", "t", liberty, tmp_path / "sta", 10.0, activity, ["a", "d"],
                           spefs=[(None, tmp_path / "t.spef")], clock="clk", **kw)


def test_two_cells_match_the_hand_calculation_from_the_liberty(sky130, tmp_path):
    """u1: buffer from port a (ideal: slew 0) into net y (wire cap = a table index); u2: flop clocked at 10 ns, D
    and Q never toggle. Expected: buffer output energy (rise+fall)/2 per toggle, clock-pin energy (rise+fall)/2
    per clock edge (2 per cycle), 0.5 C V^2 per toggle on y, cell_leakage_power of both cells."""
    alpha = 0.37                                   # toggles per clock cycle on a and y
    res = _run(tmp_path, sky130, {"a": (alpha, 0.5), "y": (alpha, 0.5), "d": (0.0, 0.0), "q": (0.0, 0.0)})
    text = Path(sky130).read_text()
    buf, flop = _cell(text, BUF), _cell(text, FLOP)
    period = 10e-9
    k = 2                                          # WIRE_PF is index_2[2]
    i1, i2, rise = _table(buf[buf.index('pin ("X")'):], "rise_power")
    _, _, fall = _table(buf[buf.index('pin ("X")'):], "fall_power")
    assert i2[k] == pytest.approx(WIRE_PF)
    e_buf = (_at_slew_zero(i1, [r[k] for r in rise]) + _at_slew_zero(i1, [r[k] for r in fall])) / 2   # pJ
    clk = flop[flop.index('pin ("CLK")'):]
    c1, _, crise = _table(clk, "rise_power")
    _, _, cfall = _table(clk, "fall_power")
    e_clk = (_at_slew_zero(c1, crise[0]) + _at_slew_zero(c1, cfall[0])) / 2
    internal = (e_buf * alpha + e_clk * 2) * 1e-12 / period                                   # W
    switching = 0.5 * WIRE_PF * 1e-12 * 1.8 ** 2 * alpha / period
    leak = [float(re.search(r"cell_leakage_power : ([0-9.eE+-]+)", c).group(1)) for c in (buf, flop)]
    leakage = sum(leak) * 1e-9                                                                # nW -> W
    m = res.metrics
    assert m["power_internal"].value == pytest.approx(internal * 1e3, rel=0.01)
    assert m["power_switching"].value == pytest.approx(switching * 1e3, rel=0.01)
    assert m["power_leakage"].value == pytest.approx(leakage * 1e3, rel=0.01)
    assert m["power_total"].value == pytest.approx((internal + switching + leakage) * 1e3, rel=0.01)
    assert m["power_total"].unit == "mW" and m["power_total"].source == "power.log"


def test_gf180mcu_cells_match_the_hand_calculation_too(tmp_path):
    """gf180mcu: the same two cells; its flop's clock pin has two `when` groups (D low, D high), which OpenSTA
    averages. Its liberty has no cell_leakage_power, only a leakage_power group per input state (`when`): the
    expected leakage of a cell is their average (each state equally likely), which is what power_liberty writes as
    its cell_leakage_power (2.0.17 weighted the groups by fixed factors: the pair here leaked 2x that)."""
    buf, flop, wire = "gf180mcu_fd_sc_mcu9t5v0__buf_2", "gf180mcu_fd_sc_mcu9t5v0__dffq_1", 0.02348
    netlist = NETLIST.replace(f"{BUF} u1 ( .A(a), .X(y) )", f"{buf} u1 ( .I(a), .Z(y) )").replace(FLOP, flop)
    spef = SPEF.replace(str(WIRE_PF), str(wire)).replace("u1:X", "u1:Z")
    lib = prepared_liberty(resolve("gf180mcu"))
    alpha = 0.37
    res = _run(tmp_path, lib, {"a": (alpha, 0.5), "y": (alpha, 0.5), "d": (0.0, 0.0), "q": (0.0, 0.0)},
               netlist=netlist, spef=spef)
    text = Path(lib).read_text()
    b = text[text.index(f"cell({buf})"):]
    b = b[b.index("pin(Z)"):]
    i1, i2, rise = _table(b, "rise_power")
    _, _, fall = _table(b, "fall_power")
    assert i2[2] == pytest.approx(wire)
    e_buf = (_at_slew_zero(i1, [r[2] for r in rise]) + _at_slew_zero(i1, [r[2] for r in fall])) / 2
    f = text[text.index(f"cell({flop})"):]
    clk = f[f.index("pin(CLK)"):f.index("pin(D)")]
    groups = clk.split("internal_power()")[1:]
    assert len(groups) == 2 and all("when" in g for g in groups)
    def mean_energy(group):                  # (rise + fall) / 2 of a 1-D table at slew 0
        return sum(_at_slew_zero(_table(group, k)[0], _table(group, k)[2][0]) for k in ("rise_power", "fall_power")) / 2
    e_clk = sum(mean_energy(g) for g in groups) / len(groups)
    period = 10e-9
    internal = (e_buf * alpha + e_clk * 2) * 1e-12 / period
    switching = 0.5 * wire * 1e-12 * 5.0 ** 2 * alpha / period
    def state_average(cell):                   # its leakage_power groups with a `when`: one per input state
        body = text[text.index(f"cell({cell})"):]
        body = body[:body.index("\n  cell(")]
        values = [float(v) for v in re.findall(r'when : "[^"]*" ;\s*value : "([0-9.eE+-]+)"', body)]
        return sum(values) / len(values), len(values)
    (leak_buf, n_buf), (leak_flop, n_flop) = state_average(buf), state_average(flop)
    assert (n_buf, n_flop) == (2, 4)           # I; CLK x D
    leakage = (leak_buf + leak_flop) * 1e-6                                                   # uW -> W
    m = res.metrics
    assert m["power_internal"].value == pytest.approx(internal * 1e3, rel=0.01)
    assert m["power_switching"].value == pytest.approx(switching * 1e3, rel=0.01)
    assert m["power_leakage"].value == pytest.approx(leakage * 1e3, rel=0.01)
    assert m["power_total"].value == pytest.approx((internal + switching + leakage) * 1e3, rel=0.01)


def test_leakage_state_probabilities_read_the_liberty_when_syntax():
    """The weights power_liberty gives each state-dependent leakage group: every pin 0 or 1 with equal odds."""
    p = power.when_probability
    assert [p("A"), p("!A"), p("CLK&D&!Q"), p("(CLK*D)*!Q"), p("A B"), p("!(A|B)"), p("A+B"), p("A&!A")] == [
        0.5, 0.5, 0.125, 0.125, 0.25, 0.25, 0.75, 0.0]
    assert p("A'") is None and p("1") is None            # postfix not, no pin: the cell is left as it is


def test_every_annotated_pin_reads_back_and_silent_nets_switch_nothing(sky130, tmp_path):
    act = {"a": (0.0, 0.0), "y": (0.0, 0.0), "d": (0.25, 0.4), "q": (0.0, 1.0)}
    res = _run(tmp_path, sky130, act, readback=["u1/X", "u2/Q", "u2/D", "u1/A"])
    assert res.annotated_pins == 2 and res.metrics["power_unannotated_nets"].value == 0
    # driver pins keep the annotated value (user), load pins carry their net's driver's
    assert res.readback["u1/X"] == (0.0, 0.0, "user")
    assert res.readback["u2/Q"] == (0.0, 1.0, "user")
    assert res.readback["u2/D"][:2] == pytest.approx((0.25 / 10e-9, 0.4))
    assert res.readback["u1/A"][:2] == (0.0, 0.0)
    # no cell output toggles (y, q): no switching power at all, though y has a wire and d toggles (a port: its
    # driver is outside the design)
    assert res.metrics["power_switching"].value == 0.0
    assert res.metrics["power_internal"].value > 0          # the clock pin and D still toggle
    again = _run(tmp_path / "q", sky130, {**act, "q": (0.125, 0.5)})
    assert again.metrics["power_switching"].value > 0


def test_run_that_stops_early_fails_with_its_log(sky130, tmp_path, monkeypatch):
    broken = tmp_path / "power.tcl"
    broken.write_text((Path(power.__file__).parent / "power.tcl").read_text().replace(
        "report_power -digits 8", "report_power -digits 8\nexec kill -SEGV [pid]"))   # a crash after the report
    monkeypatch.setattr(power, "HERE", tmp_path)
    with pytest.raises(ToolFailed) as err:
        _run(tmp_path, sky130, {"a": (0.1, 0.5), "y": (0.1, 0.5)})
    assert "power (opensta) failed" in str(err.value) and str(tmp_path / "sta" / "power.log") in str(err.value)
    assert "stopped before its last line" in str(err.value) and "exit status -11" in str(err.value)


def test_vcd_toggles_and_duty_are_counted_in_the_window_only(tmp_path):
    vcd = tmp_path / "w.vcd"
    vcd.write_text("""$timescale 1ps $end
$scope module kan_array $end
$var wire 1 ! clk $end
$scope module gates $end
$var wire 1 " n1 $end
$var wire 2 # \\bus [1:0] $end
$scope module pe_0_0 $end
$var wire 1 $ m $end
$upscope $end
$upscope $end
$upscope $end
$enddefinitions $end
#0
0"
b00 #
0$
#5000
1"
b01 #
#10000
0"
#20000
1"
b11 #
#30000
0"
1$
#40000
1"
#50000
0"
""")
    res = power.vcd_activity(vcd, "kan_array.gates", [(10000, 40000)], 10000)
    assert res.cycles == 3
    # n1: falls at 10000, rises at 20000, falls at 30000 (40000 is outside); high 20000..30000 of 30000 ps
    assert res.nets["n1"] == pytest.approx((1.0, 1 / 3))
    assert res.nets["bus[0]"] == pytest.approx((0.0, 1.0))       # changed at 5000, before the window
    assert res.nets["bus[1]"] == pytest.approx((1 / 3, 2 / 3))
    assert res.nets["pe_0_0/m"] == pytest.approx((1 / 3, 1 / 3))
    assert "clk" not in res.nets
    # two windows, [10000, 20000) and [30000, 50000): 3 cycles; n1 falls at 10000, falls at 30000, rises at 40000
    two = power.vcd_activity(vcd, "kan_array.gates", [(30000, 50000), (10000, 20000)], 10000)
    assert two.cycles == 3 and two.nets["n1"] == pytest.approx((1.0, 1 / 3))
    assert two.nets["pe_0_0/m"] == pytest.approx((1 / 3, 2 / 3))      # rises at 30000, high to 50000


@pytest.mark.parametrize("pdk", ["sky130hd", "gf180mcu"])
def test_b3_has_internal_switching_and_leakage_power(tmp_path, pdk):
    """b3's formats (grid 5, degree 3, 8-bit inputs and coefficients, 3-bit table) on a 1x1 array, routed flat
    (the 4x4 b3 takes minutes: its figures are in reports/b3 and the nightly). Without power_liberty, internal
    power is 0 on sky130hd and misses the registers on gf180mcu (../shared/notes/power.md)."""
    from flow import config
    from flow.physical import run_config
    cfg = config.load(Path(__file__).parent.parent / "configs/b3.yaml", {"pdk": pdk, "array": "1x1",
                                                                         "flow.power_vectors": 50})
    res = run_config(cfg, tmp_path / "report", verify=False, work_dir=tmp_path / "build")
    assert res["status"] == "ok", res["error"]
    m = {k: v["value"] for k, v in res["metrics"].items()}
    assert m["power_internal"] > 0 and m["power_switching"] > 0 and m["power_leakage"] > 0
    assert m["power_total"] == pytest.approx(m["power_internal"] + m["power_switching"] + m["power_leakage"],
                                             rel=1e-6)
    assert m["power_cycles"] == 50 and m["power_unannotated_nets"] == 0 and m["power_annotated_pins"] > 500
    assert m["energy_per_inference"] == pytest.approx(m["power_total"] * 10.0)     # mW x 10 ns = pJ
    assert res["metrics"]["energy_per_inference"]["unit"] == "pJ"


def test_model_workload_without_a_model_or_with_the_wrong_splines_stops_before_any_tool(tmp_path, capsys,
                                                                                        write_yaml):
    from flow.cli import main
    tiny = (Path(__file__).parent.parent / "configs/tiny.yaml").read_text()
    bad = write_yaml(tiny.replace("flow:\n", "flow:\n  power_workload: model\n"), "nomodel.yaml")
    assert main(["run", str(bad), "--out", str(tmp_path / "r"), "--work", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"error: {bad}: flow.power_workload: 'model' needs a trained model in the top-level `model:` key "
                   "(e.g. model: reports/models/digits/model.json)")
    # tiny has grid 3, degree 1; the digits model was trained with grid 5, degree 3
    wrong = write_yaml(tiny.replace("flow:\n", "model: reports/models/digits/model.json\nflow:\n"
                                    "  power_workload: model\n"), "wrong.yaml")
    assert main(["run", str(wrong), "--out", str(tmp_path / "r"), "--work", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"error: {wrong}: model: reports/models/digits/model.json was trained with grid 5, degree 3; "
                   "the design has kan.grid 3, kan.degree 1")
    assert not (tmp_path / "r").exists() and not (tmp_path / "b").exists()


def test_model_workload_passes_are_the_models_real_tiles_spread_over_its_layers():
    from flow.config import load
    from kan.accuracy import load_model, power_passes
    from kan.quantize import quantize
    cfg = load(Path(__file__).parent.parent / "configs/b3.yaml")          # 4x4, grid 5, degree 3
    path = Path(__file__).parent.parent / "reports/models/digits/model.json"
    chosen, total = power_passes(path, cfg.params, 20, 8)
    assert total == 16 * 8 + 8 * 3                   # 64-32-10 on 4x4: 16 row blocks x 8 col blocks + 8 x 3
    assert len(chosen) == 8 and all(x.shape == (20, 4) and c.shape == (4, 4, 8) for c, x in chosen)
    model, _ = load_model(path)
    q = quantize(model, cfg.params)
    assert (chosen[0][0] == q.coefs[0][:4, :4]).all()          # the first pass: layer 0's first tile
    assert (chosen[-1][0][:, :2] == q.coefs[1][28:32, 8:10]).all()   # the last: layer 1's last tile (2 columns)


def test_sweep_report_gets_energy_columns_and_plots(tmp_path):
    """Report code only (the numbers are made up here, not results): EDP, the 16-bit normalization per PDK, the
    energy columns in table.md and the three energy plots in index.html."""
    import json

    from flow.report import write_report
    pts = tmp_path / "points"
    pts.mkdir()
    for pdk, scale in (("sky130hd", 1.0), ("gf180mcu", 20.0)):
        for bits, energy, fmax, area in ((3, 5.0, 200.0, 1000.0), (16, 10.0, 100.0, 3000.0)):
            m = {"energy_per_inference": {"value": energy * scale, "unit": "pJ", "tool": "t", "source": "s"},
                 "fmax": {"value": fmax, "unit": "MHz", "tool": "t", "source": "s"},
                 "cell_area": {"value": area * scale, "unit": "um^2", "tool": "t", "source": "s"}}
            cfg = {"pdk": pdk, "array": {"rows": 1, "cols": 2}, "kan": {"table_bits": bits},
                   "flow": {"stop_after": "route"}}
            (pts / f"{pdk}{bits}.json").write_text(json.dumps({"name": f"{pdk}-{bits}", "status": "ok",
                                                                "config": cfg, "metrics": m}))
    df = write_report(pts, tmp_path / "out", "energy test")
    row = df[(df.pdk == "gf180mcu") & (df.table_bits == 3)].iloc[0]
    assert row["energy_norm_16b"] == pytest.approx(0.5)
    assert row["energy_delay [pJ*ns]"] == pytest.approx(100.0 * 1000 / 200.0)
    assert "energy_per_inference [pJ]" in (tmp_path / "out/table.md").read_text().splitlines()[0]
    page = (tmp_path / "out/index.html").read_text()
    for name in ("energy_vs_bits", "energy_delay_vs_bits", "pareto_area_energy"):
        assert (tmp_path / "out" / f"{name}.png").stat().st_size > 5000 and f'alt="{name}"' in page
    # the 16 -> 3 bit change per PDK and array: area, fmax and energy side by side (no die area in these points)
    table = (tmp_path / "out/table.md").read_text()
    change = table[table.index("## 16 -> 3 table bits"):].splitlines()
    assert change[4] == ("| PDK | array | cell area 16 -> 3 | die area 16 -> 3 | fmax 16 -> 3 "
                         "| energy / inference 16 -> 3 |")
    assert change[6] == ("| gf180mcu | 1x2 | 60,000 -> 20,000 um^2 (-66.7%) |  | 100 -> 200 MHz (+100.0%) "
                         "| 200 -> 100 pJ (-50.0%) |")
    assert change[7].startswith("| sky130hd | 1x2 | 3,000 -> 1,000 um^2 (-66.7%) |")
    assert change[8] == "| KANtize, 28 nm (published) |  | -72% |  | +50% |  |"
    assert "<h2>16 -> 3 table bits</h2>" in page and "200 -&gt; 100 pJ (-50.0%)" in page
