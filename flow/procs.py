"""Process trees: stop every worker and tool a command started, turn SIGINT/SIGTERM into a clean exit, and measure
the peak memory of a process and its tools (PeakMemory).

SiliconCompiler runs each node in a process of its own and each tool as a subprocess of that; a sweep runs each
point in a worker of its own. Killing only the process we know leaves the rest running, re-parented to init. So a
command marks itself a child subreaper (orphans come back to it, not to init), and a tree is stopped by freezing
every process in it (SIGSTOP: none can fork or exit meanwhile), then SIGKILL to each. The tree is read from /proc.
"""
from __future__ import annotations

import ctypes
import os
import signal
import threading
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived. A BaseException, like KeyboardInterrupt, so `except Exception` blocks (ours and
    SiliconCompiler's) do not record it as a failed step; unlike KeyboardInterrupt, SiliconCompiler does not
    handle it itself."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = 128 + signum          # the shell's convention: 130 for SIGINT, 143 for SIGTERM


_OWNER = [0]    # the pid that installed the handlers


def _raise_interrupted(signum, _frame):
    if os.getpid() != _OWNER[0]:
        # a forked child (SiliconCompiler's node and manager processes) inherited this handler. A Ctrl-C reaches
        # the whole foreground group: the command stops the child, which says nothing meanwhile. SIGTERM: as by
        # default (SiliconCompiler's own handler, where it installs one, is not this one).
        if signum == signal.SIGINT:
            return
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    # a second signal must not cut the cleanup short: ignore both from here on
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Interrupted(signum)


def interruptible() -> None:
    """In the command's main process: SIGINT and SIGTERM raise Interrupted; orphans of our tools come back to us."""
    _OWNER[0] = os.getpid()
    signal.signal(signal.SIGINT, _raise_interrupted)
    signal.signal(signal.SIGTERM, _raise_interrupted)
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass   # not Linux: the process-group kill below still reaches tools that stay in their group


def processes() -> dict[int, tuple[int, int]]:
    """{pid: (parent pid, process group)} of every process, from /proc/<pid>/stat (fields 4 and 5: after
    `pid (comm) state`)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue        # exited while we looked
            fields = stat[stat.rindex(")") + 2:].split()
            out[int(entry.name)] = (int(fields[1]), int(fields[2]))
    return out


def descendants(pid: int, table: dict[int, tuple[int, int]] | None = None) -> set[int]:
    """Every process below `pid` (zombies included: they are gone once reaped), in `table` (default: now)."""
    children: dict[int, list[int]] = {}
    for child, (parent, _) in (processes() if table is None else table).items():
        children.setdefault(parent, []).append(child)
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def kill_tree(pid: int, include_root: bool = True) -> set[int]:
    """SIGKILL `pid` (unless include_root is False) and everything below it; returns the pids signalled."""
    frozen: set[int] = set()
    while True:                            # freeze until the tree stops growing: no fork escapes the list
        tree = descendants(pid) | ({pid} if include_root else set())
        new = tree - frozen
        if not new:
            break
        for p in new:
            _signal(p, signal.SIGSTOP)
        frozen |= new
    for p in frozen:
        _signal(p, signal.SIGKILL)
    return frozen


def stop_all() -> None:
    """After Interrupted, in the command's main process: SIGKILL every worker and tool below us, wherever it got
    to, and collect them."""
    kill_tree(os.getpid(), include_root=False)
    time.sleep(0.2)                                       # SIGKILL is not instant
    reap_children()


def reap_children() -> None:
    """Collect the exit status of our dead children (orphans of killed tools came to us, the subreaper), so no
    zombie of ours outlives the command."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def kill_worker(proc) -> None:
    """A worker (subprocess.Popen) started in a session of its own, and everything it started: its tree while it
    runs, then what is left of its process group below us (tools orphaned by an earlier death came back to us, the
    subreaper). Its pid is only used while it is not reaped, so it cannot name a stranger's process."""
    if proc.poll() is None:
        kill_tree(proc.pid)
    proc.wait()
    mine = descendants(os.getpid())
    for pid, (_, group) in processes().items():
        if group == proc.pid and pid in mine:
            kill_tree(pid)


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * PAGE_BYTES / 2**20
    except (OSError, IndexError, ValueError):
        return 0.0           # exited while we looked


def _own_peak_mb() -> float:
    """This process's peak RSS so far (VmHWM)."""
    with open("/proc/self/status") as fh:
        return next((int(line.split()[1]) / 1024 for line in fh if line.startswith("VmHWM:")), 0.0)


class PeakMemory:
    """`with PeakMemory() as peak:` -> peak.mb, the peak resident memory [MB] of this process and every process
    below it (its tools) while the block ran: their RSS summed every `interval` s by a thread; where this process's
    own peak (VmHWM) rose during the block, at least that (it catches an in-process spike between two samples). A
    tool's spike shorter than `interval` can be missed. VmHWM is read, never reset: /usr/bin/time and getrusage
    report it."""

    def __init__(self, interval: float = 0.2):
        self.interval, self.mb = interval, 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._own_before = _own_peak_mb()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()
        own = _own_peak_mb()
        if own > self._own_before:
            self.mb = max(self.mb, own)

    def _sample(self) -> None:
        me = os.getpid()
        while True:
            self.mb = max(self.mb, sum(_rss_mb(p) for p in descendants(me) | {me}))
            if self._done.wait(self.interval):
                return
