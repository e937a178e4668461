"""Where inference runs, and how much of it at once.

ONNX Runtime's CUDA provider when a GPU is usable, the CPU otherwise.

On a GPU: one synthesis at a time (the GPU parallelizes inside a run), ONNX Runtime's own thread
count for what is left on the CPU.

On a CPU: one synthesis at a time per usable core, each on one ONNX Runtime thread. A Piper voice
scales poorly inside a run but well across runs, and threads of one process (ONNX Runtime releases
the GIL; Piper's own Python work is small) do as well as separate processes. Measured on 2 cores
with 8 clients, in CPU time per character: 2 processes × 1 thread ~7 ms; 1 process, 2 Python
threads × 1 thread the same; 1 run × 2 threads ~11-14 ms with ONNX Runtime's default spinning,
~8-9 ms without. An operator who sets only `VOCALIS_INFERENCE_CONCURRENCY` gets the cores shared
out (`cores // concurrency` threads each). Usable cores are the process's CPU affinity, fewer
under a cgroup CPU quota (a container run with `--cpus`), so a container is not sized by its host.

Memory grows with concurrency: each synthesis in flight holds its own working memory (~80 MB for
a 100-character piece, ~150 MB at 200) beside the loaded voices; where cores are many and memory
short, set `VOCALIS_INFERENCE_CONCURRENCY` lower (and `VOCALIS_INFERENCE_THREADS` higher).

CPU sessions plan memory as they run rather than keep a pattern per input shape (every sentence
length is a new shape: with concurrent runs the patterns cost ~150 MB of peak memory and saved no
time), and their idle threads sleep rather than spin (spinning takes the core from another run).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import onnxruntime

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


@dataclass(frozen=True)
class InferenceDevice:
    """The execution providers to ask ONNX Runtime for, in preference order; the intra-op
    threads of each synthesis (None: see `sized_for`)."""

    providers: tuple[str, ...]
    threads: int | None = None

    @property
    def on_gpu(self) -> bool:
        return self.providers[0] == CUDA

    def sized_for(self, concurrency: int) -> InferenceDevice:
        """This device with the threads per synthesis chosen for `concurrency` syntheses at once,
        unless the operator chose them: the usable cores shared out, on a CPU."""
        if self.threads or self.on_gpu:
            return self
        return replace(self, threads=default_threads(concurrency))

    def session_options(self) -> onnxruntime.SessionOptions:
        options = onnxruntime.SessionOptions()
        if self.threads:
            options.intra_op_num_threads = self.threads
        if not self.on_gpu:
            options.enable_mem_pattern = False
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return options


class DeviceUnavailable(RuntimeError):
    pass


def select_device(
    preference: Literal["auto", "cpu", "cuda"], threads: int | None = None
) -> InferenceDevice:
    available = onnxruntime.get_available_providers()
    if preference == "cuda" and CUDA not in available:
        raise DeviceUnavailable("device 'cuda' requested but onnxruntime-gpu is not installed")
    if preference != "cpu" and CUDA in available:
        return InferenceDevice(providers=(CUDA, CPU), threads=threads)
    return InferenceDevice(providers=(CPU,), threads=threads)


def default_concurrency(on_gpu: bool) -> int:
    """Syntheses at once: one on a GPU, one per usable core on a CPU."""
    return 1 if on_gpu else usable_cores()


def default_threads(concurrency: int) -> int:
    """ONNX Runtime threads per synthesis on a CPU: the usable cores shared by `concurrency`."""
    return max(1, usable_cores() // max(1, concurrency))


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity, or a cgroup CPU quota if lower."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    return max(1, min(cores, math.ceil(quota))) if quota else max(1, cores)


def _cgroup_cpu_quota() -> float | None:
    """CPUs allowed by the cgroup (v2 `cpu.max`, else v1 `cpu.cfs_quota_us`); None if unlimited."""
    v2 = Path("/sys/fs/cgroup/cpu.max")
    v1 = Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us")
    try:
        if v2.is_file():
            quota, period = v2.read_text().split()[:2]
        elif v1[0].is_file():
            quota, period = v1[0].read_text().strip(), v1[1].read_text().strip()
        else:
            return None
        if quota in ("max", "-1"):
            return None
        return int(quota) / int(period)
    except (OSError, ValueError):
        return None
