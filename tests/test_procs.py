"""procs.PeakMemory: the peak memory of the flow's process and its tools while a step runs."""
import subprocess
import sys

from flow.procs import PeakMemory

from .conftest import REPO

MB300 = "b = b'\\1' * (300 << 20)"          # 300 MB written (a zeroed bytearray would not be resident)


def test_peak_memory_counts_a_tool_the_step_runs():
    with PeakMemory(interval=0.05) as quiet:
        subprocess.run([sys.executable, "-c", "import time; time.sleep(0.5)"], check=True)
    with PeakMemory(interval=0.05) as busy:
        subprocess.run([sys.executable, "-c", f"{MB300}; import time; time.sleep(0.5)"], check=True)
    assert busy.mb - quiet.mb > 280, (quiet.mb, busy.mb)


def test_peak_memory_catches_a_spike_of_its_own_process_between_samples():
    # one sample at the start, none after: only the process's own peak (VmHWM) can see the 300 MB
    code = ("from flow.procs import PeakMemory\n"
            f"with PeakMemory(interval=60) as peak:\n    {MB300}\n    del b\n"
            "print(peak.mb)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert float(out.stdout) > 300
