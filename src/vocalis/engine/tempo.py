"""Speaking rate: audio made `speed` times faster (or slower) without changing its pitch.

A voice's own length control is not proportional — Piper's duration model gives each phoneme at
least one frame, so "4× faster" comes out barely 2× faster — while FFmpeg's `atempo` filter
(WSOLA, through PyAV) changes the length by exactly the factor asked, so `speed` means what it
says: 2.0 takes half the time. Blocking CPU work: call it from a worker thread.
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

ATEMPO_MIN = 0.5  # one atempo stage's range; slower speeds chain several stages
ATEMPO_MAX = 2.0  # faster than this, atempo skips audio instead of compressing it evenly


def change_tempo(samples: np.ndarray, sample_rate: int, speed: float) -> np.ndarray:
    """`samples` (mono float32) played `speed` times as fast, pitch kept; length / `speed`."""
    if speed == 1.0 or len(samples) == 0:
        return samples
    graph = av.filter.Graph()
    source = graph.add_abuffer(
        format="flt", sample_rate=sample_rate, layout="mono", time_base=Fraction(1, sample_rate)
    )
    stages = [graph.add("atempo", f"{factor:.6f}") for factor in _stages(speed)]
    sink = graph.add("abuffersink")
    chain = [source, *stages, sink]
    for upstream, downstream in zip(chain, chain[1:], strict=False):
        upstream.link_to(downstream)
    graph.configure()

    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(samples, dtype=np.float32).reshape(1, -1), format="flt", layout="mono"
    )
    frame.sample_rate = sample_rate
    frame.time_base = Fraction(1, sample_rate)
    frame.pts = 0
    graph.push(frame)
    graph.push(None)
    parts = []
    while True:
        try:
            parts.append(graph.pull().to_ndarray().reshape(-1))
        except (av.BlockingIOError, av.EOFError):
            break
    return np.concatenate(parts).astype(np.float32, copy=False) if parts else samples[:0]


def _stages(speed: float) -> list[float]:
    """Factors within atempo's even range whose product is `speed`."""
    factors = []
    while speed > ATEMPO_MAX:
        factors.append(ATEMPO_MAX)
        speed /= ATEMPO_MAX
    while speed < ATEMPO_MIN:
        factors.append(ATEMPO_MIN)
        speed /= ATEMPO_MIN
    return [*factors, speed]
