"""Response times of the Architecture tab (#21) through a launched app, as a student meets them (gradio_client).

    .venv/bin/python benchmarks/architecture_bench.py

Prints the first view of an image (the one walk through both networks), a block selection (drawn from the cached
activations), and the GAN game's steps. Figures go to docs/benchmarks.md, with the machine.
"""

import statistics, tempfile, time
from pathlib import Path
from gradio_client import Client, handle_file
from PIL import Image
from ui.launch import app_subprocess
from ui.common import example_paths

tmp = Path(tempfile.mkdtemp())
img = Image.open(example_paths()[0]).convert("RGB").resize((128, 128))
img.save(tmp / "in128.png")
with app_subprocess(runs_dir=tmp / "runs", log_path=tmp / "app.log") as (url, proc):
    c = Client(url, verbose=False)
    f = handle_file(str(tmp / "in128.png"))
    t = time.perf_counter()
    c.predict(f, 0, 8, "srgan", "en", api_name="/architecture")
    print(f"first (walk) {time.perf_counter() - t:.2f} s")
    times = []
    for b in ["res3", "body_tail", "up2", "tail", "d4", "dense1024", "sigmoid", 10, 5, "head"]:
        t = time.perf_counter()
        c.predict(f, b, 8, "srgan", "en", api_name="/architecture")
        times.append(time.perf_counter() - t)
    print("block select: median %.2f s, max %.2f s" % (statistics.median(times), max(times)))
    ex = handle_file(example_paths()[0])
    t = time.perf_counter()
    c.predict(ex, 1e-3, "en", api_name="/gan_reset")
    print(f"gan reset {time.perf_counter() - t:.2f} s")
    d, g = [], []
    for _ in range(4):
        t = time.perf_counter()
        c.predict(ex, 1e-3, "en", api_name="/gan_discriminator_step")
        d.append(time.perf_counter() - t)
        t = time.perf_counter()
        c.predict(ex, 1e-3, "en", api_name="/gan_generator_step")
        g.append(time.perf_counter() - t)
    print(
        "D step: median %.2f max %.2f; G step: median %.2f max %.2f"
        % (statistics.median(d), max(d), statistics.median(g), max(g))
    )
    t = time.perf_counter()
    c.predict(ex, 1e-3, "en", api_name="/gan_run")
    print(f"run 10 {time.perf_counter() - t:.2f} s")
