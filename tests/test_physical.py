"""`flow run`: the SiliconCompiler project end to end on the tiny config (sky130hd), its report and errors."""
import gzip
import json
import shutil

import pytest

from flow import config, pdks
from flow.cli import main
from flow.physical import run_config

from .conftest import REPO

pytestmark = pytest.mark.eda

TINY = str(REPO / "configs/tiny.yaml")


def _check_metrics(report):
    data = json.loads((report / "metrics.json").read_text())
    units = {"cell_area": "um^2", "fmax": "MHz", "wns": "ns", "tns": "ns", "core_area": "um^2", "die_area": "um^2",
             "utilization": "%", "wirelength": "um", "failed_nets": "nets", "cells": "cells", "registers": "cells"}
    for name, m in data["metrics"].items():
        assert set(m) == {"value", "unit", "tool", "source"} and m["tool"], name
        assert m["unit"] == units.get(name, m["unit"]), name
        assert m["unit"] == "s" or not name.startswith("runtime_"), name
    return data


def test_run_through_synth_with_verification(tmp_path, capsys):
    rc = main(["run", TINY, "--stop-after", "synth", "--out", str(tmp_path / "reports"),
               "--work", str(tmp_path / "build")])
    out = capsys.readouterr().out.strip().splitlines()[-1]   # after SiliconCompiler's progress lines
    assert rc == 0 and out.startswith("ok: cell_area ")
    report = tmp_path / "reports/tiny"
    data = _check_metrics(report)
    m = {k: v["value"] for k, v in data["metrics"].items()}
    assert data["status"] == "ok" and data["config"]["flow"]["stop_after"] == "synth"
    assert m["verify_rtl_mismatches"] == 0 and m["verify_gates_mismatches"] == 0 and m["verify_gates_vectors"] > 200
    assert m["fmax"] == m["preroute_fmax"] == pytest.approx(1000 / (10.0 - m["wns"]), rel=1e-4)
    assert m["area_kan_pe"] + m["area_kan_bspline"] + m["area_kan_array_glue"] == pytest.approx(m["cell_area"],
                                                                                                 abs=0.01)
    assert data["metrics"]["cell_area"]["source"] == "synth/0/yosys/stat.txt"
    assert (tmp_path / "build/kan_array/tiny" / data["metrics"]["cell_area"]["source"]).is_file()
    for step in ("rtl", "rtlsim", "synth", "gatesim", "sta_synth"):
        assert m[f"runtime_{step}"] > 0
    assert "place" not in " ".join(m) and m["version_pyosys"] == "0.70"
    summary = (report / "summary.md").read_text()
    assert "| cell area |" in summary and "| DRC | not run |" in summary and "e+0" not in summary
    assert "| worst hold slack | " in summary and "not recorded" not in summary.split("## Worst paths")[1].split(
        "## Signoff")[0]                                   # pre-route setup and hold paths, all recorded
    assert str(tmp_path) not in summary and str(tmp_path) not in (report / "metrics.json").read_text()
    assert (report / "kan_array_synth.vg").is_file() and (report / "logs/synth__yosys__yosys.log").is_file()


def test_missing_pdk_data_exits_2_with_the_install_hint(tmp_path, capsys):
    rc = main(["run", TINY, "--pdk-root", str(tmp_path), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1
    assert "pdk sky130hd: data not found" in err and str(tmp_path / "lambdapdk/sky130") in err
    assert "run `flow pdk install sky130hd` (downloads it; offline: add --from DIR) or pass --pdk-root DIR" in err


def test_missing_tool_is_one_line_with_the_install_command(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    rc = main(["run", TINY, "--out", str(tmp_path / "r"), "--work", str(tmp_path / "b")])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and err == "error: iverilog not found on PATH: install it with `apt-get install -y iverilog`"


def test_failing_step_names_the_step_and_its_log(tmp_path, capsys):
    """A damaged liberty (cut mid-file) in an installed PDK copy: Yosys fails in the synth node."""
    root, copied = pdks.install("sky130hd", dest=tmp_path / "pdk")
    assert copied >= 3 and root == tmp_path / "pdk"
    lib = pdks.resolve("sky130hd", root).liberty_files[0]
    lib.write_bytes(gzip.compress(gzip.decompress(lib.read_bytes())[:400_000]))
    cfg = config.load(TINY, {"flow.stop_after": "synth"})
    res = run_config(cfg, tmp_path / "report", verify=False, pdk_root=root, work_dir=tmp_path / "build")
    assert res["status"] == "failed"
    assert res["error"].startswith("synthesis (yosys) failed: Syntax error in liberty file")
    log = res["error"].rsplit("(log: ", 1)[1].rstrip(")")
    assert log.endswith("synth/0/yosys/yosys.log") and "ERROR: Syntax error" in open(log).read()
    data = json.loads((tmp_path / "report/metrics.json").read_text())
    assert data["status"] == "failed" and "cell_area" not in data["metrics"]


def test_pdk_install_refuses_a_damaged_source(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(pdks.SHARED_PDK_ROOT / "lambdapdk/gf180", src / "lambdapdk/gf180")
    shutil.copy(pdks.SHARED_PDK_ROOT.parent / "MANIFEST.tsv", tmp_path / "MANIFEST.tsv")
    lef = next((src / "lambdapdk/gf180").rglob("*tech.lef"))
    lef.write_text(lef.read_text() + "\n# changed\n")
    with pytest.raises(pdks.PdkMissing, match="sha256 differs from MANIFEST.tsv"):
        pdks.install("gf180mcu", src, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_run_through_route(tmp_path):
    """Tiny on sky130hd through place, route and post-route timing with the router's SPEF."""
    cfg = config.load(TINY)
    res = run_config(cfg, tmp_path / "report", verify=False, work_dir=tmp_path / "build")
    assert res["status"] == "ok", res["error"]
    report = tmp_path / "report"
    m = {k: v["value"] for k, v in _check_metrics(report)["metrics"].items()}
    assert m["failed_nets"] == 0 and m["wirelength"] > 0
    assert 0 < m["utilization"] < 100 and m["core_area"] > m["cell_area"]
    assert res["metrics"]["fmax"]["tool"].endswith("[postroute]")
    assert m["fmax"] == pytest.approx(1000 / (10.0 - m["postroute_wns"]), rel=1e-4)
    assert m["postroute_fmax"] < m["preroute_fmax"] * 1.05   # wires only slow it down (ideal vs real clock aside)
    for f in ("kan_array_routed.def", "kan_array_routed.spef", "kan_array_die.png"):
        assert (report / f).stat().st_size > 0, f
    # the power step: the random workload's toggles on every driving pin, the routed parasitics
    assert m["power_internal"] > 0 and m["power_switching"] > 0 and m["power_leakage"] > 0
    assert m["power_total"] == pytest.approx(m["power_internal"] + m["power_switching"] + m["power_leakage"],
                                             rel=1e-6)
    assert m["energy_per_inference"] == pytest.approx(m["power_total"] * 10.0, rel=1e-4)     # mW x ns = pJ
    assert m["power_cycles"] == 500 and m["power_unannotated_nets"] == 0 and m["power_annotated_pins"] > 500
    assert 0 < m["power_silent_nets"] < m["power_nets"]
    summary = (report / "summary.md").read_text()
    assert "random: 500 input vectors" in summary and "no glitches" in summary and "lower bounds" in summary
    assert (report / "logs/power__power__sta__power.log").is_file()


def test_a_named_model_is_scored_on_the_design_points_formats():
    """configs/models/digits.yaml's committed model at 3-bit tables: the accuracy `flow accuracy` reports."""
    from flow.physical import model_accuracy
    cfg = config.load(TINY, {"kan": {"grid": 5, "degree": 3, "input_bits": 8, "table_bits": 3, "table_depth": 256,
                                     "coef_bits": 8}, "array": "8x8", "model": "reports/models/digits/model.json"})
    m = model_accuracy(cfg)
    assert m["model_score"].unit == "%" and m["model_score"].value == pytest.approx(96.667, abs=0.01)
    assert m["model_score_float"].value == pytest.approx(96.944, abs=0.01)


def test_gate_level_check_runs_once_per_implementation():
    """Flat: the synthesized netlist is simulated (gatesim). Tiled through place/route: the tiled node simulates
    its routed netlist, so gatesim is left out; tiled stopped after synthesis keeps gatesim."""
    from flow.physical import steps_for
    names = lambda over: [s for s, _ in steps_for(config.load(REPO / "configs/b3.yaml", over), verify=True)]
    assert names({"flow.physical": "flat"}) == ["rtl", "rtlsim", "synth", "gatesim", "sta_synth", "place", "route",
                                                "sta_route", "power"]
    assert names({"flow.physical": "tiled"}) == ["rtl", "rtlsim", "synth", "sta_synth", "tiled", "power"]
    # the power step simulates the routed gates once more, on its own workload; power_vectors: 0 leaves it out
    assert names({"flow.physical": "tiled", "flow.power_vectors": 0})[-1] == "tiled"
    assert names({"flow.physical": "tiled", "flow.stop_after": "synth"}) == ["rtl", "rtlsim", "synth", "gatesim",
                                                                             "sta_synth"]
    assert "gatesim" not in [s for s, _ in steps_for(config.load(REPO / "configs/b3.yaml"), verify=False)]
