"""What the app's start-up warm-up costs on this machine (figures, not a test).

    .venv/bin/python benchmarks/warm_up_cost.py

Runs `ui.launch.warm_up_steps` in this process, in the order `python app.py` runs them in its background thread,
and prints each step's wall time and CPU time (all threads), then the process's peak resident memory. Run it twice:
the first run on a machine also compiles the Winograd kernel, later runs load it from its cache.
"""

from __future__ import annotations

import json
import platform
import resource
import time


def main() -> int:
    t0 = time.perf_counter()
    from ui.launch import warm_up_steps

    steps = warm_up_steps()
    results = {"machine": platform.machine(), "import_s": round(time.perf_counter() - t0, 2)}
    for name, step in steps:
        wall, cpu = time.perf_counter(), time.process_time()
        step()
        results[name] = {"wall_s": round(time.perf_counter() - wall, 2), "cpu_s": round(time.process_time() - cpu, 2)}
    results["total_wall_s"] = round(time.perf_counter() - t0, 2)
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # KiB on Linux
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
