"""Where inference runs: ONNX Runtime's CUDA provider when a GPU is usable, the CPU otherwise."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

import onnxruntime

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


@dataclass(frozen=True)
class InferenceDevice:
    """The execution providers to ask ONNX Runtime for, in preference order."""

    providers: tuple[str, ...]
    threads: int | None = None

    def session_options(self) -> onnxruntime.SessionOptions:
        options = onnxruntime.SessionOptions()
        if self.threads:
            options.intra_op_num_threads = self.threads
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
    """One stream on a GPU (it parallelizes inside a run); half the cores on a CPU."""
    if on_gpu:
        return 1
    return max(1, (os.cpu_count() or 2) // 2)
