"""The metric vocabulary (flow/metrics.py): headline metrics of flat and tiled runs, old names read as today's, and
SiliconCompiler's metrics recorded with their schema's meaning."""
import json
import re

import pytest

from flow import sc_tasks
from flow.metrics import HEADLINE, RENAMED, Metric, current_name, current_names, headline

UNIT_SUFFIX = re.compile(r"_(um2?|mm2|ns|ps|s|seconds|mhz|hz|pf|ff|mw|uw|pj|mb|bytes)(_|$)")


def m(value, unit="", tool="t", source="f"):
    return Metric(value, unit, tool, source)


def flat_run(net_cap=0.5) -> dict:
    return {"cell_area": m(5031.1, "um^2", "yosys"), "cells": m(565, "cells"), "place_cells": m(578, "cells"),
            "place_core_area": m(9000.0, "um^2"), "place_die_area": m(11139.4, "um^2"),
            "place_utilization": m(56.8, "%"), "route_wirelength": m(20706.5, "um"), "route_failed_nets": m(0, "nets"),
            "route_net_cap_total": m(net_cap, "pF"),
            **{f"{stage}_{k}": m(v, u, f"opensta ({stage})", f"sta_{stage}.log") for stage, vals in
               (("preroute", (5.79, 0.0, 237.8)), ("postroute", (5.49, 0.0, 221.6)))
               for k, v, u in zip(("wns", "tns", "fmax"), vals, ("ns", "ns", "MHz"))}}


def test_flat_headline_is_post_route_and_the_place_and_route_numbers():
    h = headline(flat_run())
    assert {k: v.value for k, v in h.items()} == {"core_area": 9000.0, "die_area": 11139.4, "utilization": 56.8,
                                                   "wirelength": 20706.5, "failed_nets": 0, "wns": 5.49, "tns": 0.0,
                                                   "fmax": 221.6}
    assert h["fmax"].tool == "opensta (postroute) [postroute]" and h["fmax"].source == "sta_postroute.log"
    assert "cell_area" not in h and "cells" not in h           # the synthesis numbers are the headline already


def test_a_post_route_spef_without_capacitance_leaves_pre_route_timing():
    h = headline(flat_run(net_cap=0))
    assert h["fmax"].value == 237.8 and h["wns"].value == 5.79
    assert h["fmax"].tool == "opensta (preroute) [preroute; post-route SPEF is all zeros (tech LEF without R/C)]"


def test_tiled_headline_comes_from_the_tiled_step():
    run = {"cell_area": m(1.0, "um^2"), "cells": m(10, "cells"), "tiled_cell_area": m(2.0, "um^2"),
           "tiled_cells": m(20, "cells"), "tiled_die_area": m(3.0, "um^2"), "tiled_wirelength": m(4.0, "um"),
           "tiled_failed_nets": m(0, "nets"), "postroute_wns": m(1.5, "ns"), "postroute_tns": m(0.0, "ns"),
           "postroute_fmax": m(116.0, "MHz"), "preroute_fmax": m(130.0, "MHz")}
    h = headline(run)
    assert {k: v.value for k, v in h.items()} == {"cell_area": 2.0, "cells": 20, "die_area": 3.0, "wirelength": 4.0,
                                                   "failed_nets": 0, "wns": 1.5, "tns": 0.0, "fmax": 116.0}
    assert headline({"preroute_fmax": m(1.0), "preroute_wns": m(2.0), "preroute_tns": m(0.0)})["fmax"].tool == \
        "t [preroute]"                                       # stopped after synthesis


def test_old_names_read_as_today_s():
    assert current_name("place_cell_area_um2") == "place_cell_area"
    assert current_name("place_runtime_s_graywolf") == "place_runtime_graywolf"
    assert current_name("route_wirelength_um_met1") == "route_wirelength_met1"
    assert current_name("route_cpu_s") == "route_cpu_time" and current_name("fmax") == "fmax"
    stored = {"fmax_mhz": m(150.0), "fmax": m(150.0, tool="today"), "glue_cell_area_um2": m(7.0), "cells": m(3)}
    assert current_names(stored) == {"fmax": m(150.0, tool="today"), "glue_cell_area": m(7.0), "cells": m(3)}
    assert list(current_names({"a": 1, "array_wire_cap_pf": 2, "b": 3})) == ["a", "array_wire_cap", "b"]  # in place
    # today's names carry no unit, and are not renamed again
    assert not [n for n in RENAMED.values() if UNIT_SUFFIX.search(n)] and not set(RENAMED.values()) & set(RENAMED)
    assert not [n for n in HEADLINE if UNIT_SUFFIX.search(n)]


class Recorder(sc_tasks.KanTask):
    """post_process of a node, its SiliconCompiler records caught."""
    def __init__(self):
        super().__init__()
        self.recorded = {}

    def record_metric(self, metric, value, source_file=None, source_unit=None, quiet=False):
        assert metric not in self.recorded, f"{metric} recorded twice"
        self.recorded[metric] = (value, source_unit)


@pytest.mark.parametrize("wns, setupwns", [(5.79, 0), (-0.25, -0.25)])
def test_siliconcompiler_gets_signed_slack_and_its_negative_part(tmp_path, monkeypatch, wns, setupwns):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reports").mkdir()
    metrics = {"postroute_wns": m(wns, "ns"), "postroute_tns": m(min(wns, 0), "ns"),
               "postroute_fmax": m(100.0, "MHz"), "postroute_hold_slack": m(0.03, "ns"),
               "route_wirelength": m(20706.5, "um"), "tiled_wirelength": m(1.0, "um"),
               "place_utilization": m(56.8, "%"), "place_die_area": m(11139.4, "um^2")}
    (tmp_path / sc_tasks.METRICS_FILE).write_text(
        json.dumps({k: v.as_dict() for k, v in metrics.items()}))
    task = Recorder()
    task.post_process()
    assert task.recorded == {"setupslack": (wns, "ns"), "setupwns": (setupwns, "ns"),
                             "setuptns": (min(wns, 0), "ns"), "fmax": (100.0, "MHz"), "holdslack": (0.03, "ns"),
                             "holdwns": (0, "ns"), "wirelength": (20706.5, "um"), "totalarea": (11139.4, "um^2")}


def test_the_tiled_node_records_each_siliconcompiler_metric_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reports").mkdir()
    metrics = {"tiled_cell_area": m(5168.7, "um^2"), "place_cell_area": m(5243.8, "um^2"), "tiled_cells": m(569),
               "tiled_die_area": m(29672.2, "um^2"), "tiled_wirelength": m(2338.1, "um"), "glue_cells": m(4)}
    (tmp_path / sc_tasks.METRICS_FILE).write_text(json.dumps({k: v.as_dict() for k, v in metrics.items()}))
    task = Recorder()
    task.post_process()          # placed cell area (as the flat place node), no array-only wirelength
    assert task.recorded == {"cellarea": (5243.8, "um^2"), "cells": (569, None), "totalarea": (29672.2, "um^2")}


def test_summary_run_time_table_shows_each_tiled_part_peak_memory():
    from flow.config import load
    from flow.physical import summary_markdown
    from flow.tiled.run import MEMORY_SOURCE

    from .conftest import REPO
    metrics = {"runtime_route_top": m(20.34, "s", "flow (wall clock)", ""), "runtime_synth": m(2.85, "s"),
               "memory_route_top": m(232.9, "MB", MEMORY_SOURCE, "")}
    text = summary_markdown(load(REPO / "configs/b3.yaml"), metrics, None)
    assert "| route_top | 20.34 | 232.9 |" in text and "| synth | 2.85 |  |" in text
    assert f"Peak memory (the tiled flow's parts only): {MEMORY_SOURCE}." in text
