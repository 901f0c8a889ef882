"""`flow sweep`: run the points of a sweep file in parallel, cached by content and resumable.

A sweep file:

    name: nightly                 # optional, defaults to the file name
    base: b3.yaml                 # config every point starts from (relative to this file)
    mode: product                 # product (cartesian) or zip
    set: {flow.stop_after: route} # optional overrides applied to every point
    axes:
      kan.table_bits: [2, 3, 4, 6, 8, 12, 16]
      array: [2x2, 4x4]
      pdk: [sky130hd, gf180mcu]
    rules:                        # optional: overrides for the points whose axes match `when` (a value or a list)
      - when: {array: 4x4, kan.table_bits: [12, 16]}
        set: {flow.stop_after: synth}

Every point is one `flow.physical.run_config` (a SiliconCompiler run) in its own worker process. Its result is
`reports/<sweep>/points/<key>.json`, written atomically, where key = hash(normalized config, generator version,
tool versions, PDK data hashes, verify flag): an unchanged point is never run twice, a killed sweep keeps every
finished point, a changed axis value reruns only the points it changes.
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
from .config import ConfigError
from .pdks import REPO, resolve
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
        for dotted, value in {**spec.fixed, **{k: v for m in matched for k, v in m.items()}, **point_axes}.items():
            config_mod.set_dotted(doc, dotted, value)
        label = "-".join(f"{k.split('.')[-1]}{v}" for k, v in point_axes.items())
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
    """One status line: done/failed/cached counts, running points and an ETA from finished run times."""

    def __init__(self, total: int, stream=sys.stderr):
        self.total, self.stream = total, stream
        self.done = self.failed = self.cached = 0
        self.durations: list[float] = []
        self.tty = stream.isatty()

    def update(self, running: int, jobs: int, event: str = "") -> None:
        finished = self.done + self.failed + self.cached
        left = self.total - finished
        eta = ""
        if self.durations and left:
            per = sum(self.durations) / len(self.durations)
            eta = f" ETA {int(per * left / max(1, min(jobs, left)))}s"
        width = 24
        bar = "#" * (width * finished // max(1, self.total))
        line = (f"[{bar:<{width}}] {finished}/{self.total} done {self.done} failed {self.failed} "
                f"cached {self.cached} running {running}{eta}")
        if self.tty:
            self.stream.write("\r" + line.ljust(100) + ("\n" if not left else ""))
        elif event:
            self.stream.write(f"{line}  {event}\n")
        self.stream.flush()


def run_sweep(sweep: Sweep, out_root: Path, jobs: int, timeout: float | None = None, force: bool = False,
              retry_failed: bool = False, verify: bool = True, pdk_root: str | None = None,
              scheduler: str = "local") -> dict:
    """Run every point not already in the store; returns {key: result}."""
    out = Path(out_root) / sweep.name
    store = out / "points"
    work_root = REPO / "build" / "sweeps" / sweep.name
    results, todo = {}, []
    for pt in sweep.points:
        cached = _read(store / f"{pt.key}.json")
        if cached and not force and not (retry_failed and cached["status"] != "ok"):
            results[pt.key] = cached
        else:
            todo.append(pt)
    for pt in todo:
        _kill_stale_workers(work_root / pt.key)
    progress = Progress(len(sweep.points))
    progress.cached = len(results)
    progress.update(0, jobs, "cached" if results else "")
    running: dict[str, tuple[subprocess.Popen, Point, float, Path]] = {}
    queue = list(todo)
    try:
        while queue or running:
            while queue and len(running) < jobs:
                pt = queue.pop(0)
                running[pt.key] = _start(pt, work_root, store, verify, pdk_root, scheduler)
            time.sleep(0.2)
            for key, (proc, pt, start, work) in list(running.items()):
                elapsed = time.monotonic() - start
                if proc.poll() is None and not (timeout and elapsed > timeout):
                    continue
                if proc.poll() is None:
                    _kill(proc)
                    result = _failure(pt, f"timeout after {timeout:g} s", work, elapsed)
                else:
                    result = _read(store / f"{key}.json")
                    if not result or result.get("log") != str(work / "worker.log"):   # not this attempt's
                        result = _failure(pt, f"worker exited with status {proc.returncode} and no result",
                                          work, elapsed)
                if result.get("status") != "ok":
                    write_json_atomic(store / f"{key}.json", result)
                (work / "pid").unlink(missing_ok=True)
                del running[key]
                results[key] = result
                progress.durations.append(elapsed)
                if result["status"] == "ok":
                    progress.done += 1
                else:
                    progress.failed += 1
                progress.update(len(running), jobs, f"{pt.cfg.name}: {result['status']}")
    finally:
        for proc, *_ in running.values():
            _kill(proc)
    return results


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _failure(pt: Point, reason: str, work: Path, seconds: float) -> dict:
    log = work / "worker.log"
    return {"key": pt.key, "name": pt.cfg.name, "axes": pt.axes, "config": pt.cfg.to_dict(), "status": "failed",
            "error": reason, "log": str(log), "seconds": round(seconds, 2), "metrics": {},
            "tools": tool_versions()}


def _start(pt: Point, work_root: Path, store: Path, verify: bool, pdk_root: str | None, scheduler: str):
    work = work_root / pt.key / f"attempt-{os.getpid()}-{time.time_ns()}"
    work.mkdir(parents=True, exist_ok=True)
    job = {"key": pt.key, "name": pt.cfg.name, "axes": pt.axes, "config": pt.cfg.to_dict(), "work": str(work),
           "result": str(store / f"{pt.key}.json"), "report_dir": str(store / pt.key), "verify": verify,
           "pdk_root": pdk_root, "scheduler": scheduler}
    (work / "job.json").write_text(json.dumps(job, indent=1))
    log = open(work / "worker.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "flow.sweep", str(work / "job.json")], stdout=log,
                            stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True)
    (work / "pid").write_text(str(proc.pid))
    return proc, pt, time.monotonic(), work


def _kill_stale_workers(point_work: Path) -> None:
    """A sweep killed with SIGKILL leaves its workers running: stop them before the point is redone."""
    for pid_file in point_work.glob("attempt-*/pid"):
        try:
            os.killpg(int(pid_file.read_text()), signal.SIGKILL)
        except (ProcessLookupError, PermissionError, ValueError):
            pass
        pid_file.unlink(missing_ok=True)


def _kill(proc: subprocess.Popen) -> None:
    """Kill the worker and every tool it started (its own process group)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _worker(job_path: str) -> int:
    """One point, in its own process: run the flow and store the result atomically."""
    from .physical import run_config

    job = json.loads(Path(job_path).read_text())
    cfg = config_mod.from_dict(job["config"], where=job["name"], name=job["name"])
    start = time.monotonic()
    try:
        res = run_config(cfg, Path(job["report_dir"]), verify=job["verify"], pdk_root=job["pdk_root"],
                         work_dir=Path(job["work"]), scheduler=job["scheduler"])
    except Exception as exc:  # noqa: BLE001  any failure is recorded with its log, the sweep goes on
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
