"""`python -m srgan bench --peers`: the same network through ONNX Runtime and OpenVINO, for comparison.

Optional: `pip install -e ".[peers]"` (onnxruntime, openvino, and onnx for the export). Nothing else in the
package needs them; a peer that is not installed gets one line saying so instead of a row. Each runtime
loads the plain generator exported once to ONNX (fp32, the same weights), runs on the CPU with PyTorch's
thread count, and is timed on the same input as the plain forward and `Upscaler` in the same run.
"""

from __future__ import annotations

import importlib.util
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

# Display name -> the module that must be importable.
PEERS = {"ONNX Runtime": "onnxruntime", "OpenVINO": "openvino"}

Runner = Callable[[torch.Tensor], np.ndarray]  # (1, 3, H, W) in [0, 1] -> (1, 3, 4H, 4W) in [-1, 1]


def peer_runners(model: nn.Module, *, threads: int) -> tuple[dict[str, Runner], list[str]]:
    """Each installed peer runtime with the plain network loaded, and a line for each one that is not.

    Args:
        model: the plain generator (eval mode, on the CPU).
        threads: intra-op threads for each runtime (PyTorch's count, so that all use the same cores).

    Returns:
        ({name: run}, [one line per peer that cannot run, saying how to install it]).
    """
    present = [name for name, module in PEERS.items() if importlib.util.find_spec(module) is not None]
    missing = [f"{name}: not installed (pip install {module}, or pip install -e '.[peers]')"
               for name, module in PEERS.items() if name not in present]  # fmt: skip
    if present and importlib.util.find_spec("onnx") is None:  # torch.onnx.export writes the file with it
        return {}, missing + [f"{name}: not run, the ONNX export needs the onnx package (pip install onnx)"
                              for name in present]  # fmt: skip
    if not present:
        return {}, missing
    path = export_onnx(model, Path(tempfile.mkdtemp(prefix="srgan-peers-")) / "generator.onnx")
    loaders = {"ONNX Runtime": _onnxruntime, "OpenVINO": _openvino}
    return {name: loaders[name](path, threads) for name in present}, missing


def export_onnx(model: nn.Module, path: Path) -> Path:
    """The plain generator as an ONNX file with dynamic height and width (one file for every input size).

    Args:
        model: the generator, on the CPU.
        path: where to write it.

    Returns:
        `path`.
    """
    with torch.no_grad():  # the TorchScript-based exporter: no dynamo, no onnxscript needed
        torch.onnx.export(model.cpu().eval(), (torch.zeros(1, 3, 16, 16),), str(path), input_names=["lr"],
                          output_names=["sr"], dynamic_axes={"lr": {2: "h", 3: "w"}, "sr": {2: "h4", 3: "w4"}},
                          opset_version=17, dynamo=False)  # fmt: skip
    return path


def _onnxruntime(path: Path, threads: int) -> Runner:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {"lr": x.numpy()})[0]


def _openvino(path: Path, threads: int) -> Runner:
    import openvino as ov

    # f32: on a CPU with AVX512-BF16 or AMX OpenVINO would otherwise run in bf16 (not within a level).
    compiled = ov.Core().compile_model(str(path), "CPU", {"INFERENCE_NUM_THREADS": threads,
                                                          "INFERENCE_PRECISION_HINT": "f32"})  # fmt: skip
    return lambda x: compiled(x.numpy())[0]


def peer_row(name: str, run: Runner, x: torch.Tensor, reference: np.ndarray, time_fn, t_plain: float,
             t_upscaler: float) -> dict:  # fmt: skip
    """One peer's figures at one size.

    Args:
        name: the peer's display name.
        run: its runner.
        x: the input the plain forward was timed on.
        reference: the plain forward's output in 8-bit levels, (H, W, 3).
        time_fn: fn -> seconds, the same timing as the plain forward's and `Upscaler`'s.
        t_plain, t_upscaler: their times in seconds.

    Returns:
        {"peer", "ms", "speedup_over_eager", "upscaler_speedup_over_it", "max_diff_levels"}.
    """
    seconds = time_fn(lambda: run(x))
    levels = np.round((np.clip(run(x)[0], -1, 1) + 1) * 127.5).transpose(1, 2, 0)  # as the plain output's
    return {"peer": name, "ms": round(seconds * 1e3, 2), "speedup_over_eager": round(t_plain / seconds, 2),
            "upscaler_speedup_over_it": round(seconds / t_upscaler, 2),
            "max_diff_levels": float(np.abs(levels - reference).max())}  # fmt: skip


def peer_lines(rows: list[dict], missing: list[str]) -> list[str]:
    """The peers' rows under the bench table, then one line per missing peer."""
    lines = [
        "peers, the same network and input (CPU, fp32; Upscaler's time includes the 8-bit image in and out):",
        f"{'LR size':>8}  {'runtime':<14}{'ms':>10}{'vs eager':>10}{'Upscaler vs it':>16}{'max diff':>10}",
    ]
    for r in rows:
        lines += [f"{r['size']:>8}  {p['peer']:<14}{p['ms']:>10}{p['speedup_over_eager']:>9}x"
                  f"{p['upscaler_speedup_over_it']:>15}x{p['max_diff_levels']:>10.0f}" for p in r.get("peers", [])]  # fmt: skip
    return lines + missing
