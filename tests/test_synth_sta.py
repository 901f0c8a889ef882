"""Synthesis (pyosys), OpenSTA and the gate-level check, on the tiny config mapped to sky130hd."""
import fnmatch
import re

import pytest

from flow import config
from flow.errors import ToolFailed, ToolMissing
from flow.pdks import resolve
from flow.tools.liberty import cell_table, prepared_liberty, stage_cells
from flow.tools.opensta import run_sta
from flow.tools.yosys_synth import simulatable_netlist, synthesize
from flow.verify import run_cocotb
from rtl_gen.generator import write_rtl

from .conftest import REPO

pytestmark = pytest.mark.eda


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    work = tmp_path_factory.mktemp("synth")
    cfg = config.load(REPO / "configs/tiny.yaml")
    pdk = resolve("sky130hd")
    lib = prepared_liberty(pdk)
    rtl = write_rtl(cfg.params, work / "rtl")
    return cfg, pdk, lib, synthesize(rtl, "kan_array", pdk, lib, work / "yosys", 10.0), work


def test_netlist_is_mapped_flat_and_readable_by_old_tools(tiny):
    cfg, pdk, lib, res, _ = tiny
    m = res.metrics
    assert m["cell_area"].value > 1000 and m["cell_area"].unit == "um^2"
    assert m["registers"].value >= 80          # 2 PEs x 6 coefficients x 4 bits + pipeline registers
    text = res.netlist.read_text()
    assert len(re.findall(r"^module ", text, re.M)) == 1
    assert "{" not in text and "assign" not in text          # OpenSTA 2.0 and qflow read no concatenations
    table = cell_table(lib)
    assert set(res.cells) <= set(table)
    ties = {pdk.tie_hi.cell, pdk.tie_lo.cell}
    assert not [c for c in res.cells if c not in ties and any(fnmatch.fnmatch(c, g) for g in pdk.dont_use)]
    assert sum(res.cells.values()) == m["cells"].value


def test_per_module_breakdown_sums_to_yosys_total(tiny):
    _, _, _, res, _ = tiny
    m = res.metrics
    parts = [m[k].value for k in ("area_kan_bspline", "area_kan_pe", "area_kan_array_glue")]
    assert m["instances_kan_pe"].value == 2 and m["instances_kan_bspline"].value == 1
    assert min(parts) > 0 and m["area_kan_pe"].value > m["area_kan_bspline"].value
    assert sum(parts) == pytest.approx(m["cell_area"].value, abs=0.01)   # liberty sum vs Yosys `stat`


def test_delay_strategy_and_booth_are_recorded_and_change_the_netlist(tiny, tmp_path):
    cfg, pdk, lib, res, work = tiny
    fast = synthesize(work / "rtl/kan_array.v", "kan_array", pdk, lib, tmp_path, 10.0, strategy="delay", booth=True)
    assert fast.metrics["synth_strategy"].value == "delay" and fast.metrics["synth_booth"].value is True
    assert fast.cells != res.cells


def test_opensta_fmax_is_consistent_with_wns(tiny, tmp_path):
    _, pdk, lib, res, _ = tiny
    slow = run_sta(res.netlist, "kan_array", lib, pdk, tmp_path / "a", 10.0).metrics
    tight = run_sta(res.netlist, "kan_array", lib, pdk, tmp_path / "b", 2.0).metrics
    for period, m in ((10.0, slow), (2.0, tight)):
        assert m["preroute_fmax"].value == pytest.approx(1000.0 / (period - m["preroute_wns"].value), rel=1e-4)
        assert m["preroute_fmax"].unit == "MHz" and m["preroute_wns"].unit == "ns"
    assert slow["preroute_wns"].value > 0 and slow["preroute_tns"].value == 0
    assert tight["preroute_wns"].value < 0 and tight["preroute_tns"].value <= tight["preroute_wns"].value
    # I/O delays are 0, so the worst path, hence fmax, does not depend on the target period
    assert tight["preroute_fmax"].value == pytest.approx(slow["preroute_fmax"].value, rel=2e-3)
    # hold: ideal clock, registers feeding registers: a positive slack well under the period; the setup numbers
    # above are still the setup ones (the hold reports come after them)
    for m in (slow, tight):
        assert 0 < m["preroute_hold_slack"].value < 2.0 and m["preroute_hold_slack"].unit == "ns"
    assert slow["preroute_hold_slack"].value == tight["preroute_hold_slack"].value   # hold ignores the period
    assert slow["preroute_critical_arrival"].value == pytest.approx(tight["preroute_critical_arrival"].value)
    assert not any("clock" in k for k in slow)        # ideal clock: no clock network to report pre-route


def test_gate_netlist_simulates_bit_exact_and_a_broken_one_fails(tiny, tmp_path):
    cfg, _, lib, res, _ = tiny
    good = simulatable_netlist(res.netlist, lib, "kan_array", tmp_path / "good")
    ok = run_cocotb(cfg.params, [good], tmp_path / "sim_good", vectors=100, seed=2)
    assert ok.passed and ok.mismatches == 0 and ok.vectors > 100
    broken = tmp_path / "broken.vg"   # every nand2 becomes a nor2 (same pins A, B, Y)
    text = res.netlist.read_text()
    assert "sky130_fd_sc_hd__nand2_1 " in text
    broken.write_text(text.replace("sky130_fd_sc_hd__nand2_1 ", "sky130_fd_sc_hd__nor2_1 "))
    bad = run_cocotb(cfg.params, [simulatable_netlist(broken, lib, "kan_array", tmp_path / "bad")],
                     tmp_path / "sim_bad", vectors=100, seed=2)
    assert not bad.passed and bad.mismatches > 0


def test_asap7_liberties_merge_into_one():
    lib = prepared_liberty(resolve("asap7"))
    table = cell_table(lib)
    assert len(table) == 202 and table["DFFHQNx1_ASAP7_75t_R"][1] and not table["INVx1_ASAP7_75t_R"][1]
    text = lib.read_text()
    for template in ("delay_template_7x7", "delay_template_7x7_x1", "power_template_7x7"):  # SEQ's and INVBUF's
        assert re.search(rf"(lu_table|power_lut)_template \({template}\)", text)


def test_stage_cells_are_the_buffers_and_inverters_with_their_output_pin():
    stages = stage_cells(prepared_liberty(resolve("sky130hd")))
    assert stages["sky130_fd_sc_hd__clkbuf_4"] == "X" and stages["sky130_fd_sc_hd__inv_2"] == "Y"
    assert {"sky130_fd_sc_hd__dfxtp_4", "sky130_fd_sc_hd__nand2_1", "sky130_fd_sc_hd__conb_1"}.isdisjoint(stages)
    assert all(re.search(r"__(buf|clkbuf|inv|clkinv|clkdlybuf|dlygate|dlymetal|bufbuf|lpflow_|probe|clkdlyinv)",
                         c) for c in stages)


def test_missing_sta_is_one_line_with_the_install_command(tiny, tmp_path, monkeypatch):
    _, pdk, lib, res, _ = tiny
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissing, match=r"sta \(OpenSTA\) not found on PATH: install it with "
                                          r"`apt-get install -y opensta`"):
        run_sta(res.netlist, "kan_array", lib, pdk, tmp_path, 10.0)


def test_tool_failures_name_the_step_and_the_log(tiny, tmp_path):
    _, pdk, lib, res, _ = tiny
    bad = tmp_path / "bad.vg"
    bad.write_text(res.netlist.read_text().replace("sky130_fd_sc_hd__nand2_1 ", "no_such_cell "))
    with pytest.raises(ToolFailed) as err:
        run_sta(bad, "kan_array", lib, pdk, tmp_path / "sta", 10.0)
    assert "static timing preroute (opensta) failed" in str(err.value) and err.value.log.endswith("sta_preroute.log")
    assert "no_such_cell" in open(err.value.log).read()
    rtl = tmp_path / "bad.v"
    rtl.write_text("module kan_array(input a, output y); assign y = a &; endmodule\n")
    with pytest.raises(ToolFailed) as err:
        synthesize(rtl, "kan_array", pdk, lib, tmp_path / "yosys", 10.0)
    assert str(err.value).startswith("synthesis (yosys) failed") and err.value.log.endswith("yosys.log")


def test_truncated_liberty_fails_in_yosys(tiny, tmp_path):
    _, pdk, lib, _, work = tiny
    cut = tmp_path / "cut.lib"
    cut.write_text(lib.read_text()[:300_000])
    with pytest.raises(ToolFailed, match=r"synthesis \(yosys\) failed.*\(log: .*yosys.log\)"):
        synthesize(work / "rtl/kan_array.v", "kan_array", pdk, cut, tmp_path / "y", 10.0)
