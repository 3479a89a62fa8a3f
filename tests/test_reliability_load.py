"""Load: a class's worth of concurrent requests on one launched app (`app_server`), all answered correctly.

The measuring code is benchmarks/load_soak.py's (the same phases, smaller here); its full run, with
the 200-request soak, is recorded in docs/reliability.md.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.load_soak import concurrent_upscales, finetune_with_upscales, rss_mb, small_images


def _memory_total_mb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no MemTotal in /proc/meminfo")


def test_16_concurrent_upscales_all_succeed_within_memory(app_server, tmp_path):
    url, proc = app_server
    phase = concurrent_upscales(url, small_images(tmp_path, 16), pid=proc.pid)
    assert (phase.requests, phase.failures) == (16, 0), phase.notes
    # The queue runs 2 at a time and each request holds a few small images: far from the machine's memory.
    assert 0 < phase.peak_rss_mb < min(4096, 0.5 * _memory_total_mb())
    assert proc.poll() is None and rss_mb(proc.pid) > 0  # still serving


def test_a_fine_tune_and_8_concurrent_upscales_all_complete(app_server, tmp_path):
    url, proc = app_server
    phase = finetune_with_upscales(url, small_images(tmp_path, 8), pid=proc.pid, steps=3)
    assert (phase.requests, phase.failures) == (9, 0), phase.notes
    assert phase.peak_rss_mb < min(4096, 0.5 * _memory_total_mb())
