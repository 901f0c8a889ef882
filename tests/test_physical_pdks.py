"""`flow run` beyond sky130hd: the tiny config routed on osu018 and asap7 (pre-route timing is asap7's headline:
its tech LEF has no R/C), the `--pdk` override, and qrouter's copy of the asap7 tech LEF."""
import json
import re
import subprocess

import pytest

from flow import config, pdks
from flow.cli import main
from flow.physical import run_config
from flow.tools import qflow_pnr

from .conftest import REPO

pytestmark = pytest.mark.eda

TINY = REPO / "configs/tiny.yaml"


def _pdk_or_skip(name):
    try:
        return pdks.resolve(name)
    except pdks.PdkMissing as exc:
        pytest.skip(str(exc))


def test_tiny_on_osu018_routes_with_post_route_timing(tmp_path):
    _pdk_or_skip("osu018")
    cfg = config.load(TINY, {"pdk": "osu018"})
    res = run_config(cfg, tmp_path / "report", verify=False, work_dir=tmp_path / "build")
    assert res["status"] == "ok", res["error"]
    m = res["metrics"]
    assert m["failed_nets"]["value"] == 0 and m["route_routed_nets"]["value"] > 500
    assert m["postroute_fmax"]["unit"] == "MHz" and m["postroute_fmax"]["value"] > 0
    assert m["fmax"]["value"] == m["postroute_fmax"]["value"] and "[postroute]" in m["fmax"]["tool"]
    assert m["route_net_cap_total"]["value"] > 0          # osu018's LEF has R/C: wires are timed
    assert m["cell_area"]["unit"] == "um^2" and m["cell_area"]["value"] > 0


@pytest.fixture(scope="module")
def asap7_run(tmp_path_factory):
    """`flow run configs/tiny.yaml --pdk asap7` through route, without the simulations (~15 s)."""
    _pdk_or_skip("asap7")
    tmp = tmp_path_factory.mktemp("asap7")
    rc = main(["run", str(TINY), "--pdk", "asap7", "--no-verify", "--out", str(tmp / "reports"),
               "--work", str(tmp / "build")])
    return rc, tmp


def test_tiny_on_asap7_synthesizes_and_times_pre_route(asap7_run):
    rc, tmp = asap7_run
    report = tmp / "reports/tiny-asap7"            # --pdk names the run <name>-<pdk>
    data = json.loads((report / "metrics.json").read_text())
    assert data["config"]["pdk"] == "asap7"
    m = data["metrics"]
    assert m["cell_area"]["value"] > 0 and m["cell_area"]["unit"] == "um^2"
    assert m["preroute_fmax"]["unit"] == "MHz" and m["preroute_fmax"]["value"] > 500
    assert rc == 0 and data["status"] == "ok", data["error"]


def test_tiny_on_asap7_routes_and_reports_pre_route_timing(asap7_run):
    rc, tmp = asap7_run
    m = json.loads((tmp / "reports/tiny-asap7/metrics.json").read_text())["metrics"]
    assert rc == 0 and m["failed_nets"]["value"] == 0
    # the router's SPEF is all zeros (no R/C in the tech LEF): the headline is pre-route and says why
    assert m["route_net_cap_total"]["value"] == 0
    assert m["fmax"]["value"] == m["preroute_fmax"]["value"] and m["fmax"]["source"] == m["preroute_fmax"]["source"]
    assert "preroute; post-route SPEF is all zeros" in m["fmax"]["tool"]
    assert "SPEF all zeros" in m["postroute_fmax"]["tool"]


def test_pdk_option_rejects_an_unknown_pdk(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", str(TINY), "--pdk", "nope"])
    assert exc.value.code == 2 and "invalid choice: 'nope'" in capsys.readouterr().err


def test_asap7_router_tech_lef_has_gate_pitch_tracks_and_no_wide_power_vias(tmp_path):
    pdk = _pdk_or_skip("asap7")
    lef = qflow_pnr.router_tech_lef(pdk, tmp_path).read_text()
    assert not re.search(r"^VIARULE \S*widePWR", lef, re.M) and "VIARULE M2_M1 GENERATE" in lef
    assert not re.search(r"^\s*PROPERTY LEF58_", lef, re.M)        # addspacers.tcl misreads them
    m1 = re.search(r"^LAYER M1$(.*?)^END M1$", lef, re.M | re.S).group(1)
    assert re.findall(r"^\s*PITCH ([0-9.]+) ;", m1, re.M) == ["0.054"]
    # and qrouter reads those pitches (it skips a PITCH before TYPE)
    (tmp_path / "c.cfg").write_text(f"read_lef {tmp_path / 'qrouter_asap7_tech.lef'}\n")
    subprocess.run(["qrouter", "-i", "x.info", "-c", "c.cfg"], cwd=tmp_path, capture_output=True, check=True)
    info = (tmp_path / "x.info").read_text()
    assert re.search(r"^M1 0\.054 ", info, re.M) and re.search(r"^M2 0\.036 ", info, re.M)
