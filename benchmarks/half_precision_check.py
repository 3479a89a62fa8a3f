"""Which half type keeps the bundled SRGAN within one 8-bit level of fp32? (figures, not a test)

    .venv/bin/python benchmarks/half_precision_check.py

Runs the network `Upscaler` prepares (BN folded, `SubPixelTail`) in fp16 and in bf16 on the CPU (slow, but
the rounding is the arithmetic's, the same on a GPU that accumulates in fp32) and compares the 8-bit output
with the plain fp32 generator, on a held-out photo crop and on random noise (the harder case). This is why
`Upscaler` uses fp16, not bf16, on CUDA.
"""

from __future__ import annotations

import torch


def main() -> int:
    from srgan.checkpoints import load_pretrained
    from srgan.data import builtin_image_paths, load_rgb, pil_to_tensor
    from srgan.engine.inference import prepare_for_inference

    generator = load_pretrained("srgan").eval()
    photo = load_rgb(builtin_image_paths(split="heldout")["astronaut"]).crop((100, 50, 196, 146))
    inputs = {"photo crop 96²": pil_to_tensor(photo)[None], "random noise 64²": torch.rand(1, 3, 64, 64)}

    def levels(y: torch.Tensor) -> torch.Tensor:
        return y.float().clamp(-1, 1).add(1).mul(127.5).round()

    print(f"{'input':<18}{'type':<10}{'max diff':>10}{'pixels > 1 level':>18}")
    with torch.inference_mode():
        for name, x in inputs.items():
            reference = levels(generator(x))
            for dtype in (torch.float16, torch.bfloat16):
                model = prepare_for_inference(generator).to(dtype)
                diff = (levels(model(x.to(dtype))) - reference).abs()
                print(
                    f"{name:<18}{str(dtype).replace('torch.', ''):<10}{diff.max().item():>10.0f}"
                    f"{(diff > 1).float().mean().item():>18.4%}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
