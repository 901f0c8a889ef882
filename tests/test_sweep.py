"""`flow sweep` on the ci sweep: parallel runs, cache hits, resume after SIGKILL, failing points, reports."""
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from flow.config import ConfigError
from flow.report import compare
from flow.sweep import load_sweep

from .conftest import FLOW, REPO, running
from .test_report import check_report

pytestmark = pytest.mark.eda


def sweep_cmd(sweep, out, *extra):
    return [*FLOW, "sweep", str(sweep), "--out", str(out), "--no-verify", *extra]


def run_of(point_file: Path) -> tuple:
    """What identifies the run that stored a point (the report rewrites the file's paths relative, not these)."""
    d = json.loads(point_file.read_text())
    return d["status"], d["seconds"], d.get("finished"), {k: m["value"] for k, m in d["metrics"].items()}


def attempts(name):
    return sorted((REPO / "build/sweeps" / name).glob("*/attempt-*"))


def test_sweep_runs_caches_and_reruns_only_changed_points(ci_sweep):
    path, name, out = ci_sweep
    first = subprocess.run(sweep_cmd(path, out, "--jobs", "2"), capture_output=True, text=True, cwd=REPO)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "4 points, 4 ok, 0 failed" in first.stdout
    # not a terminal: a line at the start, then one line per finished point, named
    lines = first.stderr.splitlines()
    assert lines[0] == f"sweep {name}: 4 points: 0 cached, 4 to run, 2 at a time"
    finished = [line for line in lines if re.match(r"\[\d/4\] ok     ", line)]
    assert [line[:5] for line in finished] == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"]
    assert sorted(line.split()[2] for line in finished) == sorted(f"{name}-table_bits{b}" for b in (2, 3, 8, 16))
    df = pd.read_csv(out / name / "results.csv")
    assert sorted(df.table_bits) == [2, 3, 8, 16] and (df.status == "ok").all()
    area = df.set_index("table_bits")["cell_area [um^2]"]
    assert area[2] < area[3] < area[8] < area[16]                              # the multiplier width drives the area
    for f in ("table.md", "index.html", "area_vs_bits.png", "area_vs_bits.svg", "fmax_vs_bits.png"):
        assert (out / name / f).exists(), f
    # every link resolves inside the report (worker logs copied in from build/), no work-tree path written
    links = check_report(out / name, [str(REPO), str(out)])
    assert sum(h.endswith("/logs/worker.log") for h in links.hrefs) == 4
    assert set(df.timing_stage) == {"pre-route"} and "fmax [MHz] (pre-route)" in links.headers
    page = (out / name / "index.html").read_text()          # points now record where and when they ran
    assert "<dt>machine</dt><dd>not recorded" not in page and "<dt>points run</dt><dd>not recorded" not in page
    runs = attempts(name)
    assert len(runs) == 4

    again = subprocess.run(sweep_cmd(path, out), capture_output=True, text=True, cwd=REPO)
    assert again.returncode == 0 and "4 points, 4 ok" in again.stdout
    assert again.stderr.splitlines()[0] == f"sweep {name}: 4 points: 4 cached, 0 to run"
    assert attempts(name) == runs                                    # cache hit: no tool work at all

    path.write_text(path.read_text().replace("[2, 3, 8, 16]", "[2, 3, 4, 16]"))
    changed = subprocess.run(sweep_cmd(path, out), capture_output=True, text=True, cwd=REPO)
    assert changed.returncode == 0
    assert len(attempts(name)) == 5                                  # only table_bits=4 ran


def test_kill_and_resume_keeps_finished_points(ci_sweep):
    path, name, out = ci_sweep
    points = out / name / "points"
    proc = subprocess.Popen(sweep_cmd(path, out, "--jobs", "1"), cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not list(points.glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)                                 # no cleanup: the hard case
    proc.wait()
    finished = {p.name: run_of(p) for p in points.glob("*.json")}
    assert 1 <= len(finished) < 4
    res = subprocess.run(sweep_cmd(path, out, "--jobs", "1"), capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 0, res.stdout + res.stderr
    assert {p.name: run_of(p) for p in points.glob("*.json") if p.name in finished} == finished
    assert len(list(points.glob("*.json"))) == 4
    assert not list(points.glob(".*.tmp"))                           # no half-written result


def _broken_sky130_root(root):
    """A PDK folder whose sky130hd liberty is cut off mid-cell (the LEFs are the real ones): the data is there,
    so the sweep starts, and the point fails inside the flow."""
    import gzip

    from flow.pdks import PdkMissing, resolve
    try:
        real = resolve("sky130hd")
    except PdkMissing as exc:
        pytest.skip(str(exc))
    base = real.lambdapdk_root / "lambdapdk"
    for f in (real.tech_lef, real.cell_lef, *real.liberty_files):
        dst = root / "lambdapdk" / Path(f).relative_to(base)
        dst.parent.mkdir(parents=True, exist_ok=True)
        if f in real.liberty_files:
            dst.write_bytes(gzip.compress(b"library (broken) {\n  cell (sky130_fd_sc_hd__inv_1) {\n    area : 3"))
        else:
            dst.symlink_to(f)
    return root


def test_failing_point_is_recorded_and_the_others_finish(tmp_path):
    name = f"fail-{os.getpid()}-{time.time_ns()}"
    sweep = tmp_path / "s.yaml"
    sweep.write_text(f"name: {name}\nbase: {REPO / 'configs/tiny.yaml'}\nset: {{flow.stop_after: synth}}\n"
                     "axes:\n  pdk: [osu018, sky130hd]\n")
    root = _broken_sky130_root(tmp_path / "broken-pdk")
    try:
        res = subprocess.run(sweep_cmd(sweep, tmp_path / "r", "--pdk-root", str(root)), capture_output=True,
                             text=True, cwd=REPO)
        assert res.returncode == 1
        assert "2 points, 1 ok, 1 failed" in res.stdout
        assert "FAILED " + name + "-pdksky130hd: " in res.stdout
        stored = [json.loads(p.read_text()) for p in (tmp_path / "r" / name / "points").glob("*.json")]
        failed = [r for r in stored if r["status"] == "failed"]
        assert len(failed) == 1 and failed[0]["log"].endswith("worker.log")
        assert (REPO / failed[0]["log"]).exists()             # stored relative to the work tree
    finally:
        shutil.rmtree(REPO / "build/sweeps" / name, ignore_errors=True)


def test_missing_pdk_data_stops_the_sweep_before_any_point(tmp_path):
    """A wrong --pdk-root is bad input: one error naming the PDK and the fix, exit 2, no point run or recorded."""
    name = f"nopdk-{os.getpid()}-{time.time_ns()}"
    sweep = tmp_path / "s.yaml"
    sweep.write_text(f"name: {name}\nbase: {REPO / 'configs/tiny.yaml'}\naxes:\n  pdk: [osu018, sky130hd]\n")
    empty = tmp_path / "no-pdk-data"
    empty.mkdir()
    res = subprocess.run(sweep_cmd(sweep, tmp_path / "r", "--pdk-root", str(empty)), capture_output=True,
                         text=True, cwd=REPO)
    assert res.returncode == 2
    assert "pdk sky130hd: data not found" in res.stderr and "flow pdk install sky130hd" in res.stderr
    assert not (tmp_path / "r" / name).exists() and not (REPO / "build/sweeps" / name).exists()


def test_timeouts_are_cached_failures_with_a_hint_and_retry_failed_reruns_only_them(ci_sweep):
    path, name, out = ci_sweep
    path.write_text(path.read_text().replace("[2, 3, 8, 16]", "[2, 3]"))           # two points are enough
    points = out / name / "points"
    res = subprocess.run(sweep_cmd(path, out, "--timeout", "0.5"), capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 1 and res.stdout.count("timeout after 0.5 s") == 2
    assert res.stderr.count("FAILED ") == 2                                      # named, one line each
    stored = {p: json.loads(p.read_text()) for p in points.glob("*.json")}
    assert [r["timeout_s"] for r in stored.values()] == [0.5] * 2
    # one point comes back ok (its failure deleted), one stays a cached failure
    sorted(stored)[0].unlink()
    again = subprocess.run(sweep_cmd(path, out, "--timeout", "600"), capture_output=True, text=True, cwd=REPO)
    assert again.returncode == 1, again.stdout + again.stderr
    assert f"sweep {name}: 2 points: 1 cached (1 of them failed), 1 to run" in again.stderr
    hint = ("1 cached failure(s), not rerun (1 of them timed out at --timeout 0.5 s: give a longer one): rerun them "
            f"with `flow sweep {path} --out {out} --no-verify --timeout 600 --retry-failed`")
    assert hint in again.stderr and hint in again.stdout
    assert "2 points, 1 ok, 1 failed" in again.stdout and again.stdout.count("(cached): timeout after 0.5 s") == 1
    before = attempts(name)
    retry = subprocess.run(sweep_cmd(path, out, "--retry-failed"), capture_output=True, text=True, cwd=REPO)
    assert retry.returncode == 0 and "2 points, 2 ok, 0 failed" in retry.stdout
    assert "1 cached, 1 to run" in retry.stderr and len(attempts(name)) == len(before) + 1   # only the failure


def test_sigterm_stops_every_process_and_the_rerun_resumes(ci_sweep):
    """SIGTERM mid-sweep: exit 143 with one resume line, no process of the sweep left (its tree, its workers'
    sessions, anything working in its folders); the rerun keeps the finished points and recomputes a corrupt one."""
    from flow.procs import descendants

    path, name, out = ci_sweep
    points = out / name / "points"
    work = REPO / "build/sweeps" / name
    proc = subprocess.Popen(sweep_cmd(path, out, "--jobs", "2"), cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    seen: set[int] = set()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (list(points.glob("*.json")) and len(descendants(proc.pid)) > 2):
        seen |= descendants(proc.pid)
        time.sleep(0.05)
    seen |= descendants(proc.pid)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stdout + stderr
    assert stderr.strip().splitlines()[-1] == ("interrupted (SIGTERM): stopped every worker and tool; the finished "
                                               f"points are kept: resume with `flow sweep {path} --out {out} "
                                               "--no-verify --jobs 2`")
    time.sleep(0.5)
    alive = {pid for pid in seen if running(pid)}
    assert not alive, [Path(f"/proc/{p}/cmdline").read_bytes() for p in alive]
    for pid_dir in Path("/proc").iterdir():                       # nothing runs in or for the sweep's folders
        try:
            cwd, cmd = os.readlink(pid_dir / "cwd"), (pid_dir / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if not pid_dir.name.isdigit() or not running(int(pid_dir.name)):
            continue
        assert not cwd.startswith(str(work)) and name.encode() not in cmd, (pid_dir.name, cwd)
    finished = {p.name: run_of(p) for p in points.glob("*.json")}
    assert 1 <= len(finished) < 4
    corrupt = sorted(finished)[0]
    (points / corrupt).write_bytes(b'{"key": "cut sho')
    res = subprocess.run(sweep_cmd(path, out, "--jobs", "2"), capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"sweep {name}: 4 points: {len(finished) - 1} cached, {5 - len(finished)} to run" in res.stderr
    assert f"warning: {points / corrupt}: unreadable stored result (JSONDecodeError" in res.stderr
    assert json.loads((points / corrupt).read_text())["status"] == "ok"
    assert {p.name: run_of(p) for p in points.glob("*.json") if p.name in finished and p.name != corrupt} == \
        {k: v for k, v in finished.items() if k != corrupt}


def test_a_tool_killed_from_outside_fails_its_point_and_the_sweep_goes_on(tmp_path):
    """SIGKILL to the Yosys process of one point: that point is recorded failed with its log, the other finishes."""
    from flow.procs import descendants

    name = f"kill-{os.getpid()}-{time.time_ns()}"
    sweep = tmp_path / "s.yaml"
    sweep.write_text(f"name: {name}\nbase: {REPO / 'configs/tiny.yaml'}\nset: {{flow.stop_after: synth}}\n"
                     "axes:\n  kan.table_bits: [2, 3]\n")
    try:
        proc = subprocess.Popen(sweep_cmd(sweep, tmp_path / "r", "--jobs", "1"), cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        killed = None
        deadline = time.monotonic() + 120
        while killed is None and time.monotonic() < deadline and proc.poll() is None:
            for pid in descendants(proc.pid):
                try:
                    if b"multiprocessing.spawn" in Path(f"/proc/{pid}/cmdline").read_bytes():   # the Yosys runner
                        os.kill(pid, signal.SIGKILL)
                        killed = pid
                        break
                except OSError:
                    pass
            time.sleep(0.02)
        stdout, stderr = proc.communicate(timeout=300)
        assert killed, "no Yosys process seen"
        assert proc.returncode == 1 and "2 points, 1 ok, 1 failed" in stdout, stdout + stderr
        failed = [json.loads(p.read_text()) for p in (tmp_path / "r" / name / "points").glob("*.json")]
        failed = [r for r in failed if r["status"] == "failed"]
        assert len(failed) == 1
        assert re.search(r"yosys ended the process \(exit status -9\) \(log: (\S+)\)", failed[0]["error"])
        log = re.search(r"\(log: (\S+)\)", failed[0]["error"]).group(1)
        assert "yosys ended the process (exit status -9)" in Path(log).read_text()
        assert Path(failed[0]["log"]).is_file()
    finally:
        shutil.rmtree(REPO / "build/sweeps" / name, ignore_errors=True)


def test_code_edit_reruns_the_point(tmp_path):
    """The point key hashes the code (flow/, rtl_gen/, kan/): in a copy of the package, an unchanged rerun is a
    cache hit; editing a flow module gives a new key and the point is computed again."""
    from flow.pdks import resolve
    copy = tmp_path / "pkg"
    for d in ("flow", "rtl_gen", "kan", "configs"):
        shutil.copytree(REPO / d, copy / d, ignore=shutil.ignore_patterns("__pycache__"))
    sweep = copy / "one.yaml"
    sweep.write_text("name: one\nbase: configs/tiny.yaml\nset: {flow.stop_after: synth}\n"
                     "axes:\n  kan.table_bits: [2]\n")
    env = {**os.environ, "PYTHONPATH": str(copy), "KAN_PDK_ROOT": str(resolve("sky130hd").lambdapdk_root),
           "KAN_CACHE": str(REPO / "build/.cache")}     # the unpacked liberty is keyed by its content: share it

    def run():
        res = subprocess.run([*FLOW, "sweep", str(sweep), "--out", str(tmp_path / "r"), "--no-verify"], cwd=copy,
                             env=env, capture_output=True, text=True)
        assert res.returncode == 0, res.stdout + res.stderr
        return res.stderr.splitlines()[0], sorted(p.name for p in (tmp_path / "r/one/points").glob("*.json"))

    first, keys = run()
    assert first == "sweep one: 1 points: 0 cached, 1 to run, 1 at a time" and len(keys) == 1
    assert run() == ("sweep one: 1 points: 1 cached, 0 to run", keys)                # unchanged code: cache hit
    with open(copy / "flow/tools/opensta.py", "a") as fh:
        fh.write("\n# an edit\n")
    edited, after = run()
    assert edited == "sweep one: 1 points: 0 cached, 1 to run, 1 at a time"         # computed again
    assert len(after) == 2 and keys[0] in after                                      # under a new key
    assert len(list((copy / "build/sweeps/one").glob("*/attempt-*"))) == 2


def test_sweep_file_errors_name_the_file_and_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"base: {REPO / 'configs/tiny.yaml'}\naxis:\n  kan.table_bits: [2]\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: axis: unknown key \(did you mean 'axes'\?\)"):
        load_sweep(bad)
    bad.write_text(f"base: {REPO / 'configs/tiny.yaml'}\naxes:\n  kan.table_bits: [2, 99]\n")
    with pytest.raises(ConfigError, match=r"axes\.kan\.table_bits: must be an integer in 1\.\.16 \(got 99\)"):
        load_sweep(bad)
    bad.write_text(f"base: {REPO / 'configs/tiny.yaml'}\nmode: zip\naxes:\n  kan.table_bits: [2, 3]\n  pdk: [osu018]\n")
    with pytest.raises(ConfigError, match=r"axes: must be lists of one length in zip mode"):
        load_sweep(bad)


def test_nightly_sweep_expands_to_28_tiled_points():
    sweep = load_sweep(REPO / "configs/nightly.yaml")
    assert len(sweep.points) == 28 and {p.cfg.physical_mode for p in sweep.points} == {"tiled"}
    assert {p.cfg.flow.stop_after for p in sweep.points} == {"route"}


def test_rules_override_matching_points(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(f"base: {REPO / 'configs/b3.yaml'}\naxes:\n  array: [2x2, 4x4]\n"
                    "rules:\n  - when: {array: [4x4, 8x8]}\n    set: {flow.stop_after: synth}\n")
    stops = {p.axes["array"]: p.cfg.flow.stop_after for p in load_sweep(path).points}
    assert stops == {"2x2": "route", "4x4": "synth"}


def test_compare_flags_moved_metrics(tmp_path):
    old = pd.DataFrame({"point": ["a", "b"], "status": ["ok", "ok"], "cell_area [um^2]": [100.0, 200.0]})
    new = old.assign(**{"cell_area [um^2]": [104.0, 260.0]})
    old.to_csv(tmp_path / "old.csv", index=False)
    new.to_csv(tmp_path / "new.csv", index=False)
    cmp = compare(tmp_path / "new.csv", tmp_path / "old.csv", 0.05)
    assert [(p, c, b, a) for p, c, b, a, _ in cmp.moved] == [("b", "cell_area [um^2]", 200.0, 260.0)]
    assert "| b | cell_area [um^2] | 200 | 260 | +60 (+30.0%) |" in cmp.table()
