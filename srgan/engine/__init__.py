"""The fast inference engine: what turns the paper's `Generator` into an app that answers in a second on a laptop.

- `inference`: `Upscaler` (PIL in, PIL out, tiled, on CUDA, MPS or the CPU) and the bicubic baseline;
- `fastnet`: the generator rewritten for inference (BatchNorm folded, PixelShuffle fused), same function;
- `winograd`: Winograd F(4x4, 3x3) convolutions for the CPU, with its C kernel in `kernels/` (kept apart from
  the architecture, like BasicSR's `ops/`).

Nothing here changes what the network computes; `tests/engine/` checks each rewrite against `srgan.models`.
"""
