"""`flow sweep`: run the points of a sweep file in parallel, cached by content and resumable.

A sweep file:

    name: nightly                 # optional, defaults to the file name
    base: b3.yaml                 # config every point starts from (relative to this file)
    mode: product                 # product (cartesian) or zip
    set: {flow.stop_after: route} # optional overrides applied to every point
    axes:
      kan.table_bits: [2, 3, 4, 6, 8, 12, 16]
      array: [2x2, 4x4]
      pdk: [sky130hd, gf180mcu]     # an axis value may be a mapping: {target: fpga, fpga.device: 85k}
    rules:                        # optional: overrides for the points whose axes match `when` (a value or a list)
      - when: {array: 4x4, kan.table_bits: [12, 16]}
        set: {flow.stop_after: synth}

Every point is one `flow.physical.run_config` (a SiliconCompiler run) in its own worker process. Its result is
`reports/<sweep>/points/<key>.json`, written atomically, where key = hash(normalized config, the code's hash
(flow.versions.code_hash: flow/, rtl_gen/, kan/), tool versions, PDK data hashes, verify flag): an unchanged point is
never run twice, a killed sweep keeps every finished point, a changed axis value or code reruns the points it changes.
"""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import config as config_mod
from .pdks import REPO, resolve
from .procs import kill_worker, processes
from .versions import flow_commit, machine, tool_versions


@dataclasses.dataclass(frozen=True)
class Point:
    key: str
    axes: dict            # axis -> value of this point
    cfg: config_mod.Config


@dataclasses.dataclass(frozen=True)
class Sweep:
    name: str
    source: Path
    points: list[Point]


def load_sweep(path: str | Path, verify: bool = True, pdk_root: str | None = None) -> Sweep:
    path = Path(path)
    where = str(path)
    spec = config_mod.read_sweep(path)      # every key of the file checked: ConfigError names the key
    name, base, axes, rules = spec.name, spec.base, spec.axes, spec.rules
    combos = zip(*axes.values()) if spec.mode == "zip" else itertools.product(*axes.values())
    context = _key_context(verify)
    points, seen = [], set()
    for values in combos:
        point_axes = dict(zip(axes, values))
        doc = copy.deepcopy(base)
        matched = [sets for when, sets in rules
                   if all(point_axes.get(k) in (v if isinstance(v, list) else [v]) for k, v in when.items())]
        # an axis value that is a mapping sets several keys together (e.g. a platform axis: {target: fpga,
        # fpga.device: 85k} next to {pdk: sky130hd}); its label is its values joined
        axis_sets = {k: v for a, val in point_axes.items() for k, v in (val.items() if isinstance(val, dict)
                                                                         else [(a, val)])}
        for dotted, value in {**spec.fixed, **{k: v for m in matched for k, v in m.items()}, **axis_sets}.items():
            config_mod.set_dotted(doc, dotted, value)
        label = "-".join("-".join(map(str, v.values())) if isinstance(v, dict) else f"{k.split('.')[-1]}{v}"
                         for k, v in point_axes.items())
        label = re.sub(r"[^A-Za-z0-9_.-]+", "_", label)        # a value such as a model path stays one name
        doc["name"] = f"{name}-{label}"
        cfg = config_mod.from_dict(doc, where=f"{where} (point {label})")
        key = point_key(cfg, context, pdk_root)
        if key not in seen:
            seen.add(key)
            points.append(Point(key, point_axes, cfg))
    return Sweep(name, path, points)


def _key_context(verify: bool) -> dict:
    return {"tools": tool_versions(), "verify": verify}


_PDK_HASHES: dict[tuple, str] = {}


def pdk_hash(name: str, pdk_root: str | None) -> str:
    """sha256 over the PDK's data files, memoized per (file, size, mtime). Missing data raises PdkMissing
    here, before any point runs: every point of that PDK would fail, and the report keeps its earlier results."""
    pdk = resolve(name, pdk_root)
    files = [f for f in (*pdk.liberty_files, pdk.tech_lef, pdk.cell_lef) if f]
    stamp = tuple((str(f), f.stat().st_size, f.stat().st_mtime) for f in files)
    if stamp not in _PDK_HASHES:
        h = hashlib.sha256()
        for f in files:
            h.update(f.read_bytes())
        _PDK_HASHES[stamp] = h.hexdigest()
    return _PDK_HASHES[stamp]


def point_key(cfg: config_mod.Config, context: dict, pdk_root: str | None) -> str:
    norm = cfg.to_dict()
    norm.pop("name")                                   # renaming a point does not change its result
    if cfg.target == "fpga":                           # no PDK in an FPGA result; its tools' versions instead
        from .tools.nextpnr import version
        norm.pop("pdk")
        blob = json.dumps({"config": norm, **context, "fpga_tools": version()}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:20]
    blob = json.dumps({"config": norm, **context, "pdk_data": pdk_hash(cfg.pdk, pdk_root)}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def write_json_atomic(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class Progress:
    """What the sweep does, on stderr: a line at the start (points, cached, to run), a line naming each point that
    finishes (ok, or FAILED with its reason), and on a terminal a status line redrawn under them."""

    def __init__(self, name: str, total: int, jobs: int, stream=None):
        self.name, self.total, self.jobs = name, total, jobs
        self.stream = stream or sys.stderr
        self.ok = self.failed = self.cached = self.running = 0
        self.durations: list[float] = []
        self.tty = self.stream.isatty()

    def start(self, cached: list[dict], to_run: int, retry_hint: str) -> None:
        failures = [r for r in cached if r["status"] != "ok"]
        self.cached = len(cached)
        self.ok, self.failed = len(cached) - len(failures), len(failures)
        self.note(f"sweep {self.name}: {self.total} points: {len(cached)} cached"
                  + (f" ({len(failures)} of them failed)" if failures else "")
                  + f", {to_run} to run" + (f", {min(self.jobs, to_run)} at a time" if to_run else ""))
        if failures:
            self.note(cached_failure_hint(failures, retry_hint))
        self._status()

    def started(self) -> None:
        self.running += 1
        self._status()

    def finished(self, result: dict, seconds: float) -> None:
        self.running -= 1
        self.durations.append(seconds)
        if result["status"] == "ok":
            self.ok += 1
            what = f"ok     {result['name']} ({seconds:.1f} s)"
        else:
            self.failed += 1
            what = f"FAILED {result['name']} ({seconds:.1f} s): {result.get('error')}"
        self.note(f"[{self.ok + self.failed}/{self.total}] {what}")
        self._status()

    def status_text(self) -> str:
        done = self.ok + self.failed
        left = self.total - done
        eta = ""
        if self.durations and left:
            per = sum(self.durations) / len(self.durations)
            eta = f" ETA {int(per * left / max(1, min(self.jobs, left)))}s"
        width = 24
        bar = "#" * (width * done // max(1, self.total))
        return (f"[{bar:<{width}}] {done}/{self.total} ok {self.ok} failed {self.failed} (cached {self.cached}) "
                f"running {self.running}{eta}")

    def note(self, text: str) -> None:
        """A line that stays (above the status line on a terminal)."""
        self.stream.write(("\r\033[K" if self.tty else "") + text + "\n")
        self.stream.flush()

    def _status(self) -> None:
        if self.tty:
            self.stream.write("\r\033[K" + self.status_text())
            self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\r\033[K")
            self.stream.flush()


def cached_failure_hint(failures: list[dict], retry_hint: str) -> str:
    """One line: how many stored results are failures (timeouts named with their limit) and how to rerun them."""
    limits = sorted({r["timeout_s"] for r in failures if r.get("timeout_s") is not None})
    timeouts = sum(1 for r in failures if r.get("timeout_s") is not None)
    why = (f" ({timeouts} of them timed out at --timeout {', '.join(f'{t:g}' for t in limits)} s: give a longer one)"
           if timeouts else "")
    return f"{len(failures)} cached failure(s), not rerun{why}: rerun them with `{retry_hint} --retry-failed`"


@dataclasses.dataclass
class Attempt:
    """One run of one point: its worker process (in a session of its own) and its work folder."""
    point: Point
    proc: subprocess.Popen
    work: Path
    start: float

    def stop(self) -> list[str]:
        """Kill the worker and every tool below it; cancel its Slurm jobs (srun's death leaves them allocated)."""
        from .slurm import cancel_jobs

        kill_worker(self.proc)
        cancelled = cancel_jobs(self.work)
        (self.work / "pid").unlink(missing_ok=True)
        return cancelled


def run_sweep(sweep: Sweep, out_root: Path, jobs: int, timeout: float | None = None, force: bool = False,
              retry_failed: bool = False, verify: bool = True, pdk_root: str | None = None,
              scheduler: str = "local", partition: str | None = None, retry_hint: str = "flow sweep",
              stream=None) -> dict:
    """Run every point not already in the store; returns {key: result} (cached results carry "cached": True).
    SIGINT/SIGTERM (flow.procs.Interrupted) stop every running point and its tools, and propagate."""
    out = Path(out_root) / sweep.name
    store = out / "points"
    work_root = REPO / "build" / "sweeps" / sweep.name
    progress = Progress(sweep.name, len(sweep.points), jobs, stream)
    results, todo = {}, []
    for pt in sweep.points:
        cached = read_point(store / f"{pt.key}.json", pt.key, progress)
        if cached and not force and not (retry_failed and cached["status"] != "ok"):
            results[pt.key] = {**cached, "cached": True}
        else:
            todo.append(pt)
    for pt in todo:
        _stop_stale_workers(work_root / pt.key)
    progress.start(list(results.values()), len(todo), retry_hint)
    running: dict[str, Attempt] = {}
    queue = list(todo)
    try:
        while queue or running:
            while queue and len(running) < jobs:
                pt = queue.pop(0)
                running[pt.key] = _start(pt, work_root, store, verify, pdk_root, scheduler, partition)
                progress.started()
            time.sleep(0.2)
            for key, att in list(running.items()):
                elapsed = time.monotonic() - att.start
                if att.proc.poll() is None and not (timeout and elapsed > timeout):
                    continue
                if att.proc.poll() is None:
                    cancelled = att.stop()
                    jobs_note = f" (Slurm jobs {', '.join(cancelled)} cancelled)" if cancelled else ""
                    result = _failure(att.point, f"timeout after {timeout:g} s{jobs_note}", att.work, elapsed)
                    result["timeout_s"] = timeout
                else:
                    att.stop()         # the worker is done: anything it left behind goes too
                    result = read_point(store / f"{key}.json", key)
                    if not result or result.get("log") != str(att.work / "worker.log"):   # not this attempt's
                        result = _failure(att.point, f"worker exited with status {att.proc.returncode} and no "
                                          "result", att.work, elapsed)
                if result.get("status") != "ok":
                    write_json_atomic(store / f"{key}.json", result)
                del running[key]
                results[key] = result
                progress.finished(result, elapsed)
    finally:                           # also on Interrupted (SIGINT/SIGTERM): the CLI prints the resume line
        for att in running.values():
            att.stop()
        progress.close()
    return results


def read_point(path: Path, key: str, progress: Progress | None = None) -> dict | None:
    """A stored point result, or None when there is none. An unreadable one (cut short, edited, another key's) is
    reported, moved aside to <key>.json.corrupt and None: the point is computed again."""
    try:
        data = json.loads(path.read_bytes().decode())
        problem = None if isinstance(data, dict) and data.get("key") == key and data.get("status") in ("ok", "failed") \
            else "not a point result of this key"
    except FileNotFoundError:
        return None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problem = f"{type(exc).__name__}: {str(exc)[:80]}"
    if problem is None:
        return data
    if progress is not None:
        progress.note(f"warning: {path}: unreadable stored result ({problem}): moved to {path.name}.corrupt, "
                      "the point runs again")
        os.replace(path, path.with_name(path.name + ".corrupt"))
    return None


def _failure(pt: Point, reason: str, work: Path, seconds: float) -> dict:
    log = work / "worker.log"
    return {"key": pt.key, "name": pt.cfg.name, "axes": pt.axes, "config": pt.cfg.to_dict(), "status": "failed",
            "error": reason, "log": str(log), "seconds": round(seconds, 2), "metrics": {},
            "tools": tool_versions()}


def _start(pt: Point, work_root: Path, store: Path, verify: bool, pdk_root: str | None, scheduler: str,
           partition: str | None) -> Attempt:
    from .slurm import job_environment

    work = work_root / pt.key / f"attempt-{os.getpid()}-{time.time_ns()}"
    work.mkdir(parents=True, exist_ok=True)
    job = {"key": pt.key, "name": pt.cfg.name, "axes": pt.axes, "config": pt.cfg.to_dict(), "work": str(work),
           "result": str(store / f"{pt.key}.json"), "report_dir": str(store / pt.key), "verify": verify,
           "pdk_root": pdk_root, "scheduler": scheduler, "partition": partition}
    (work / "job.json").write_text(json.dumps(job, indent=1))
    with open(work / "worker.log", "w") as log:
        # a session of its own: a Ctrl-C at the terminal reaches the sweep, which stops the workers itself
        proc = subprocess.Popen([sys.executable, "-m", "flow.sweep", str(work / "job.json")], stdout=log,
                                stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True, env=job_environment())
    (work / "pid").write_text(str(proc.pid))
    return Attempt(pt, proc, work, time.monotonic())


def _stop_stale_workers(point_work: Path) -> None:
    """A sweep killed with SIGKILL leaves its workers running: stop them (and their Slurm jobs) before the point is
    redone. A worker is stale when its sweep (the pid in attempt-<pid>-<ns>) is no longer its parent; its pid must
    still be that worker's (its command line names the attempt's job.json)."""
    from .slurm import cancel_jobs

    for pid_file in point_work.glob("attempt-*/pid"):
        attempt = pid_file.parent
        try:
            pid = int(pid_file.read_text())
            # the process table read after the pid file: a worker another sweep started just before it wrote the
            # file is in it with its parent (read before, that worker looked orphaned and was killed: test_slurm)
            if processes().get(pid, (0,))[0] == int(attempt.name.split("-")[1]):
                continue                        # its sweep is alive (another run of the same points): not ours
            if str(attempt / "job.json").encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.killpg(pid, signal.SIGKILL)      # not our child: its group is what we can reach
        except (OSError, ValueError, IndexError):
            pass
        cancel_jobs(attempt)
        pid_file.unlink(missing_ok=True)


def _worker(job_path: str) -> int:
    """One point, in its own process: run the flow and store the result atomically."""
    from .physical import run_config

    job = json.loads(Path(job_path).read_text())
    cfg = config_mod.from_dict(job["config"], where=job["name"], name=job["name"])
    start = time.monotonic()
    try:
        res = run_config(cfg, Path(job["report_dir"]), verify=job["verify"], pdk_root=job["pdk_root"],
                         work_dir=Path(job["work"]), scheduler=job["scheduler"], queue=job.get("partition"))
    except Exception as exc:
        res = {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "metrics": {}}
    result = {"key": job["key"], "name": job["name"], "axes": job["axes"], "config": job["config"],
              "status": res["status"], "error": res.get("error"), "metrics": res.get("metrics", {}),
              "report_dir": res.get("report_dir", job["report_dir"]), "log": str(Path(job["work"]) / "worker.log"),
              "seconds": round(time.monotonic() - start, 2), "tools": tool_versions(),
              "commit": flow_commit(), "machine": machine(),    # for the report's header
              "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    write_json_atomic(Path(job["result"]), result)
    print(f"{job['name']}: {result['status']}" + (f" ({result['error']})" if result["error"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(_worker(sys.argv[1]))
