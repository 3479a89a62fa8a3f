"""The Fine-tune tab through gradio_client: a run streams to the end, another is stopped midway.

The tab runs in a small Blocks app launched in this process (so the runs folder and the base model
can be tiny): the base is an "earlier run" holding a 1-block, 8-channel generator, and the images
are uploaded through the API like a user's.
"""

from __future__ import annotations

import json
import re
import time

import pytest
import torch
from gradio_client import Client, handle_file

from srgan.checkpoints import load_checkpoint, read_metadata, save_checkpoint
from srgan.config import GeneratorConfig
from srgan.models import Generator

TINY_RUN = "20200101-000000_tiny"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """(client, runs folder) of a launched app holding the Fine-tune tab and a trivial other event."""
    import gradio as gr

    import srgan.classroom.runs
    from ui import finetune
    from ui.context import AppSettings, TabContext
    from ui.i18n import LANG_CHOICES, Relabel

    root = tmp_path_factory.mktemp("runs")
    torch.manual_seed(0)
    save_checkpoint(
        Generator.from_config(GeneratorConfig(num_residual_blocks=1, channels=8)),
        root / TINY_RUN / "generator.safetensors",
        recipe={"steps_done": 1},
    )
    (root / TINY_RUN / "run.json").write_text(
        json.dumps({"created": 0, "state": "done", "objective": "mse", "steps_done": 1})
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SRGAN_RUNS_DIR", str(root))
        mp.setattr(srgan.classroom.runs, "_manager", None)  # a fresh manager for this server
        mp.setattr(finetune, "POLL_SECONDS", 0.3)
        with gr.Blocks() as demo:
            lang = gr.Radio(LANG_CHOICES, value="en")
            with gr.Tabs():
                with gr.Tab("Fine-tune") as tab:
                    finetune.build(TabContext(lang=lang, tr=Relabel(), settings=AppSettings(), tab=tab))
                with gr.Tab("Other"):
                    pong = gr.Textbox()
                    gr.Button().click(lambda: "pong", None, pong, api_name="ping")
        demo.queue(default_concurrency_limit=2)
        port = _free_port()
        demo.launch(server_port=port, prevent_thread_lock=True, quiet=True)
        try:
            yield Client(f"http://127.0.0.1:{port}/", verbose=False), root
        finally:
            srgan.classroom.runs.get_manager().stop()
            srgan.classroom.runs.get_manager().wait(30)
            demo.close()


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    from srgan.data import builtin_image_paths, load_rgb

    folder = tmp_path_factory.mktemp("images")
    photo = load_rgb(builtin_image_paths()["astronaut"])
    paths = []
    for k, box in enumerate([(160, 40, 256, 136), (300, 300, 400, 380)]):
        paths.append(folder / f"crop{k}.png")
        photo.crop(box).save(paths[-1])
    return [handle_file(str(p)) for p in paths]


SETTINGS = {
    "base": TINY_RUN,
    "data_source": "upload",
    "objective": "mse",
    "learning_rate": 1e-4,
    "batch_size": 2,
    "hr_patch": 32,
    "seed": 0,
    "lang": "en",
}


def _step(progress: str) -> int:
    found = re.search(r"step \*\*(\d+)\*\*", progress)
    return int(found.group(1)) if found else 0


def test_every_finetune_endpoint_is_named(app):
    client, _ = app
    named = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {"/finetune", "/finetune_stop", "/finetune_watch"} <= set(named)


def test_a_run_streams_its_progress_and_saves_a_checkpoint(app, images):
    client, root = app
    job = client.submit(uploads=images, steps=5, run_name="api run", **SETTINGS, api_name="/finetune")
    outputs = list(job)
    assert len(outputs) >= 2  # at least the start and the end
    progress, curves, before, now, status, download = outputs[-1]
    assert "Done" in status and _step(progress) == 5 and "steps/s" in progress
    assert curves and before and now
    (run,) = [p for p in root.iterdir() if p.name.endswith("_api-run")]
    recipe = read_metadata(run / "generator.safetensors")["recipe"]
    assert recipe["base"] == TINY_RUN and recipe["steps_done"] == 5 and recipe["data"] == "upload: 2 images"
    assert download.endswith(f"{run.name}.safetensors")
    # Reopening the tab shows the last run.
    assert "Done" in client.predict("en", api_name="/finetune_watch")[4]


def test_stop_midway_keeps_the_server_and_a_clean_checkpoint(app, images):
    client, root = app
    job = client.submit(uploads=images, steps=5000, run_name="to stop", **SETTINGS, api_name="/finetune")
    deadline = time.monotonic() + 60
    while not any(_step(out[0]) >= 2 for out in job.outputs()):
        assert time.monotonic() < deadline and not job.done(), "the run did not start"
        time.sleep(0.1)
    # Meanwhile: other events are served, and a second user is told about the run and watches it.
    assert client.predict(api_name="/ping") == "pong"
    second = client.submit(uploads=images, steps=5, **SETTINGS, api_name="/finetune")
    while not second.outputs():
        time.sleep(0.1)
    assert "Another fine-tuning run is in progress" in second.outputs()[0][4]
    assert "Stopping" in client.predict("en", api_name="/finetune_stop")
    asked = time.monotonic()
    final = job.result(timeout=30)
    assert time.monotonic() - asked < 10
    assert second.result(timeout=30)[4].startswith("Another")  # the watcher ended with the run
    progress, _, _, _, status, download = final
    assert "Stopped at step" in status and 2 <= _step(progress) < 5000
    (run,) = [p for p in root.iterdir() if p.name.endswith("_to-stop")]
    _, meta = load_checkpoint(run / "generator.safetensors")
    assert meta["recipe"]["finetune_state"] == "stopped" and download.endswith(".safetensors")
    assert not list(root.rglob("*.tmp")) and not list(root.rglob("state.pt"))
    assert client.predict("en", api_name="/finetune_stop") == "No run is in progress."
