"""App responsiveness, measured as a user meets it (figures, not a test).

    .venv/bin/python benchmarks/app_bench.py [--repeats 3]

Starts `python app.py` on a free port, prints the time until it answers HTTP, then times each
endpoint through gradio_client: Compare on a 128x128 and a 256x256 upload (all three results, their
figures and PNG downloads; 256x256 is a classroom photo crop), the PixelShuffle and
PReLU tabs (after their first, model-loading call), Feature maps and the Loss lab.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    from gradio_client import Client, handle_file
    from PIL import Image

    from ui.launch import app_subprocess

    folder = Path(tempfile.mkdtemp(prefix="srgan-app-bench-"))
    start = time.perf_counter()
    with app_subprocess(runs_dir=folder, log_path=folder / "app.log") as (url, _):
        ready = time.perf_counter() - start
        client = Client(url, verbose=False)
        upload = Path(tempfile.mkdtemp()) / "upload_128.png"
        Image.open(ROOT / "assets/examples/astronaut.png").resize((128, 128)).save(upload)
        upload_256 = upload.with_name("upload_256.png")
        Image.open(ROOT / "assets/examples/coffee.png").resize((256, 256), Image.Resampling.LANCZOS).save(upload_256)
        example = handle_file(str(ROOT / "assets/examples/chelsea.png"))
        # (C, r) = (2, 2): a new W every call (then a new H after four), never a shape seen before
        shapes, channels = itertools.product([3, 1, 2, 4], [4, 1, 2, 3]), itertools.count(1)
        slopes = (0.01 * k for k in itertools.count(1))
        calls = {
            "compare_128x128": lambda: client.predict(handle_file(str(upload)), api_name="/upscale"),
            "compare_256x256": lambda: client.predict(handle_file(str(upload_256)), api_name="/upscale"),
            # One slider moved per call, as a student does, to a value not seen before (nothing cached).
            "pixel_shuffle_move_W": lambda: client.predict(2, 2, *next(shapes), 0, "en", api_name="/pixel_shuffle"),
            "pixel_shuffle_move_channel": lambda: client.predict(
                2, 2, 3, 3, next(channels), "en", api_name="/pixel_shuffle"
            ),
            "prelu": lambda: client.predict(next(slopes), "en", api_name="/prelu"),
            "feature_maps_relu2_2": lambda: client.predict(example, "relu2_2", 6, "en", api_name="/feature_maps"),
            "losses": lambda: client.predict(example, "en", api_name="/losses"),
        }
        results = {"app_ready_s": round(ready, 2)}
        for name, call in calls.items():
            t0 = time.perf_counter()
            call()  # first call: loads the models it needs
            first = time.perf_counter() - t0
            times = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                call()
                times.append(time.perf_counter() - t0)
            results[name] = {"first_s": round(first, 2), "median_s": round(statistics.median(times), 2)}
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
