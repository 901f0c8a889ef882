"""Sweep reports from stored points (the committed nightly's, real flow output): headline table, relative links
that resolve, no machine paths, plots, outliers; `flow report --compare` exit codes and numpy-typed metrics."""
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from flow import report

from .conftest import FLOW, REPO

NIGHTLY = REPO / "reports" / "nightly"


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs, self.headers, self._th, self.figcaptions, self._cap = [], [], False, [], False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and "href" in a:
            self.hrefs.append(a["href"])
        if tag == "img" and not a.get("src", "").startswith("data:"):
            self.hrefs.append(a["src"])
        self._th, self._cap = tag == "th", tag == "figcaption"

    def handle_data(self, data):
        if self._th:
            self.headers.append(data)
        if self._cap:
            self.figcaptions.append(data)
        self._th = self._cap = False


def local_hrefs_missing(index: Path) -> tuple[list[str], Links]:
    links = Links()
    links.feed(index.read_text())
    local = [h for h in links.hrefs if not re.match(r"^[a-z]+:", h) and not h.startswith("#")]
    assert all(not h.startswith("/") for h in local), local
    return [h for h in local if not (index.parent / h).exists()], links


def check_report(out: Path, forbidden: list[str]) -> Links:
    """Every local link of index.html resolves inside the report; no file written carries a machine path."""
    missing, links = local_hrefs_missing(out / "index.html")
    assert not missing, missing[:5]
    written = [out / "index.html", out / "results.csv", out / "table.md", *out.glob("points/*/summary.md"),
               *out.glob("points/*/metrics.json")]
    for f in written:
        text = f.read_text()
        for path in forbidden:
            assert path not in text, f"{f}: {path}"
    return links


@pytest.fixture(scope="module")
def nightly(tmp_path_factory):
    """The committed nightly, with one point's worker log placed outside the report (as a sweep leaves it)."""
    out = tmp_path_factory.mktemp("r") / "nightly"
    shutil.copytree(NIGHTLY, out)
    keys = json.loads((out / "current_points.json").read_text())
    point = out / "points" / f"{keys[0]}.json"
    data = json.loads(point.read_text())
    log = out.parent / "build" / "sweeps" / "nightly" / keys[0] / "worker.log"
    log.parent.mkdir(parents=True)
    log.write_text("worker log of the point\n")
    data["log"] = str(log)
    point.write_text(json.dumps(data))
    res = subprocess.run([*FLOW, "report", str(out)], capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 0, res.stderr
    return out, keys


def test_sweep_html_headline_links_and_portability(nightly):
    out, keys = nightly
    links = check_report(out, [str(REPO), "/work/", str(out.parent)])
    assert links.headers[:10] == ["point", "status", "PDK", "array", "table bits", "cell area [mm^2] (synthesis)",
                                  "die area [mm^2] (floorplan)", "fmax [MHz] (post-route)", "WNS [ns] (post-route)",
                                  "failed nets (route)"]
    assert f"points/{keys[0]}/logs/worker.log" in links.hrefs                   # copied in from the build folder
    assert (out / "points" / keys[0] / "logs" / "worker.log").read_text() == "worker log of the point\n"
    assert sum(h.endswith("kan_array_die.png") for h in links.hrefs) == 28       # every point's die picture
    page = (out / "index.html").read_text()
    headline = page.split("<details>")[0]
    assert not re.search(r"\d\.\d+e[+-]\d", headline)                            # no 1.06e+05
    assert ">0.4291<" in headline and ">1.381<" in headline and ">63.24<" in headline   # sky130hd 4x4 b16 in mm^2
    assert "<dt>points run</dt><dd>2026-12-04 21:40 UTC .. 2026-12-04 23:53 UTC, at commit 9bba61a" in page
    assert "siliconcompiler 0.38.11" in page
    df = pd.read_csv(out / "results.csv")
    assert len(df) == 28 and not {"fmax_mhz [MHz]", "wns_ns [ns]", "tns_ns [ns]", "wirelength_um [um]"} & set(df)
    assert set(df.timing_stage) == {"post-route"} and df.report_dir.str.startswith("points/").all()


def test_points_stored_under_old_names_read_under_today_s(nightly, tmp_path):
    """The committed nightly's points carry the metric names of their day (units in the name): the rebuilt report
    shows today's names with the same numbers, and --compare against a results.csv of either day matches them."""
    out, _ = nightly
    stored = json.loads(next((out / "points").glob("*.json")).read_text())["metrics"]
    assert "place_cell_area_um2" in stored and "place_cell_area" not in stored      # the store is left as recorded
    new = pd.read_csv(out / "results.csv").set_index("point")
    committed = pd.read_csv(NIGHTLY / "results.csv").set_index("point")
    old_names = {"place_cell_area [um^2]": "place_cell_area_um2 [um^2]", "glue_cell_area [um^2]":
                 "glue_cell_area_um2 [um^2]", "array_wire_cap [pF]": "array_wire_cap_pf [pF]",
                 "array_net_cap_total [pF]": "array_net_cap_total_pf [pF]"}
    for today in old_names:
        assert today in new and new[today].equals(committed[today])
    assert not [c for c in new if re.search(r"_(um2?|pf|mb|s)\b \[", c)]
    committed.rename(columns=old_names).to_csv(tmp_path / "old.csv")      # a results.csv written before the rename
    for before in (NIGHTLY / "results.csv", tmp_path / "old.csv"):
        cmp = report.compare(out / "results.csv", before, 0.0)
        assert cmp.common == 28 and not cmp.moved and not cmp.status


def test_plots_have_captions_and_outliers_their_cause(nightly):
    out, _ = nightly
    _, links = local_hrefs_missing(out / "index.html")
    # the committed nightly has the power step's metrics: every plot, the energy ones included
    names = [p.name for p in report.PLOTS if (out / f"{p.name}.png").exists()]
    assert set(names) == set(p.name for p in report.PLOTS) and "energy_vs_bits" in names
    assert all((out / f"{n}.png").stat().st_size > 10_000 and (out / f"{n}.svg").exists() for n in names)
    assert "die_area_vs_bits" in names and len(links.figcaptions) == len(names)
    df = report.to_frame(report.load_points(out / "points", set(json.loads((out / "current_points.json").read_text()))))
    found = {(r["pdk"], r["array"], r["table_bits"]): cause for r, cause in report.outliers(df)}
    assert set(found) == {("sky130hd", "2x2", 16), ("sky130hd", "4x4", 16)}
    assert "worst path ends in the B-spline macro, placed at relief density" in found[("sky130hd", "4x4", 16)]
    assert "post-route 63 vs pre-route 80 MHz" in found[("sky130hd", "4x4", 16)]


def test_human_numbers():
    assert [report.human(v) for v in (105992.4, 1234, 63.2793, 3.342, 0.0021345, 0.0, float("nan"), None)] == \
        ["105,992", "1,234", "63.28", "3.342", "0.002135", "0", "", ""]
    assert report.human(429102.0, 1e-6) == "0.4291"


def _cli_compare(new, old, *extra):
    return subprocess.run([*FLOW, "report", str(new), "--compare", str(old), *extra], capture_output=True,
                          text=True, cwd=REPO)


@pytest.fixture
def csvs(tmp_path):
    old = pd.read_csv(NIGHTLY / "results.csv")
    old.to_csv(tmp_path / "old.csv", index=False)
    return old, tmp_path


def test_compare_same_results_pass_and_runtime_is_left_out(csvs):
    old, tmp = csvs
    old["memory_route_top [MB]"] = 233.4          # a tiled part's peak memory: it moves run to run as run times do
    old.to_csv(tmp / "old.csv", index=False)
    assert _cli_compare(tmp / "old.csv", tmp / "old.csv").returncode == 0        # the nightly cron line, unchanged
    noisy = old.copy()
    for col in [c for c in old if c.startswith(("runtime", "memory")) and old[c].dtype.kind == "f"]:
        noisy[col] = old[col] * 1.1
    noisy.to_csv(tmp / "noisy.csv", index=False)
    quiet = _cli_compare(tmp / "noisy.csv", tmp / "old.csv")
    assert quiet.returncode == 0 and "0 quality-of-results metrics moved" in quiet.stdout
    loud = _cli_compare(tmp / "noisy.csv", tmp / "old.csv", "--runtime")
    assert loud.returncode == 1 and "runtime_total [s]" in loud.stdout and "memory_route_top [MB]" in loud.stdout


def test_compare_flags_integer_regressions_in_a_before_after_table(csvs):
    old, tmp = csvs
    new = old.copy()
    new.loc[0, "failed_nets [nets]"] = 5
    new.loc[1, "cells [cells]"] = old.loc[1, "cells [cells]"] * 2
    new = pd.concat([new.iloc[1:], new.iloc[:1].assign(point="added-point")]).reset_index(drop=True)
    new.loc[len(new) - 1, "failed_nets [nets]"] = 0
    new = pd.concat([new, old.iloc[:1].assign(**{"failed_nets [nets]": 5})])      # point 0 back, with 5 nets
    new.to_csv(tmp / "new.csv", index=False)
    assert new["failed_nets [nets]"].dtype.kind == "i"                            # numpy integers, as read back
    cmp = report.compare(tmp / "new.csv", tmp / "old.csv", 0.05)
    assert sorted((p, c, b, a) for p, c, b, a, _ in cmp.moved) == sorted([
        (old.point[0], "failed_nets [nets]", 0.0, 5.0),
        (old.point[1], "cells [cells]", float(old.loc[1, "cells [cells]"]), float(old.loc[1, "cells [cells]"] * 2))])
    assert cmp.added == ["added-point"] and cmp.removed == []
    res = _cli_compare(tmp / "new.csv", tmp / "old.csv")
    assert res.returncode == 1
    assert "| point | metric | before | after | delta |" in res.stdout and "points added (1): added-point" in res.stdout
    assert f"| {old.point[0]} | failed_nets [nets] | 0 | 5 | +5 (new nonzero) |" in res.stdout
    assert "2 quality-of-results metrics moved more than 5%" in res.stdout


def test_compare_without_common_points_is_an_error(csvs):
    old, tmp = csvs
    old.assign(point=old.point + "-renamed").to_csv(tmp / "other.csv", index=False)
    res = _cli_compare(tmp / "other.csv", tmp / "old.csv")
    assert res.returncode == 2 and "no point in common" in res.stderr and len(res.stderr.splitlines()) == 1
