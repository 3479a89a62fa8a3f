#!/usr/bin/env bash
# Reproduce the bundled weights (assets/weights/) from a fresh clone, on CPU or GPU (see assets/weights/README.md).
# Each stage resumes where it stopped (--resume): run this script again after an interruption.
#   bash tools/train_demo_weights.sh                                   # the full recipe
#   STAGE1A_STEPS=200 STAGE1B_STEPS=100 SRGAN_STEPS=100 REFIT_STEPS=20 bash tools/train_demo_weights.sh   # a quick smoke run
# Stage 1a ran on 2 CPU cores; stages 1b and 2 ran on a lent H100 (tools/gpu_session.py); stage 3 on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-train_runs}
STAGE1A_STEPS=${STAGE1A_STEPS:-6000}
STAGE1B_STEPS=${STAGE1B_STEPS:-6350}
SRGAN_STEPS=${SRGAN_STEPS:-6800}
REFIT_STEPS=${REFIT_STEPS:-500}

# Stage 1a, SRResNet-MSE (Eq. 4), CPU-sized: 64x64 HR patches (16x16 LR), batch 16, Adam 2e-4 halved at 75%.
# (--no-icnr: this stage was trained before ICNR became the default for runs from scratch.)
$PY -m srgan train --preset srresnet --data builtin --steps "$STAGE1A_STEPS" --batch-size 16 --hr-patch 64 \
  --learning-rate 2e-4 --lr-milestones $((STAGE1A_STEPS * 3 / 4)) --lr-gamma 0.5 --no-icnr \
  --checkpoint-every 100 --eval-every 250 --out "$RUNS/srresnet_x4" --resume
$PY -m srgan export "$RUNS/srresnet_x4" --name srresnet

# Stage 1b, SRResNet continued at the paper's 96x96 patches, Adam 1e-4 halved at 75%, from the fp16 export of 1a.
$PY -m srgan train --preset srresnet --data builtin --steps "$STAGE1B_STEPS" --batch-size 16 --hr-patch 96 \
  --learning-rate 1e-4 --lr-milestones $((STAGE1B_STEPS * 3 / 4)) --lr-gamma 0.5 \
  --init-from assets/weights/srresnet_x4.safetensors \
  --checkpoint-every 300 --eval-every 300 --out "$RUNS/srresnet_x4_b" --resume
$PY -m srgan export "$RUNS/srresnet_x4_b" --name srresnet

# Stage 2, SRGAN (Eq. 3) from the fp16 export of stage 1b: the paper's 96x96 patches and batch 16, Adam 1e-4,
# content + 1e-3 adversarial, then 1e-5 for the second half (the paper: 1e5 steps at 1e-4, 1e5 at 1e-5).
# Without ImageNet VGG19 weights the content loss is MSE (the paper's SRGAN-MSE variant).
$PY -m srgan train --preset srgan --data builtin --steps "$SRGAN_STEPS" --batch-size 16 --hr-patch 96 \
  --learning-rate 1e-4 --lr-milestones $((SRGAN_STEPS / 2)) --lr-gamma 0.1 --content-loss mse \
  --init-from assets/weights/srresnet_x4.safetensors \
  --checkpoint-every 300 --eval-every 300 --out "$RUNS/srgan_x4" --resume
$PY -m srgan export "$RUNS/srgan_x4" --name srgan

# Stage 3 (not in the paper), the discriminator refit against the frozen stage-2 generator: a bank of (HR', SR')
# pairs from the training photos at 4 scales, each also slightly blurred, aligned 96x96 crops, batch 16+16,
# Adam 1e-4, from the stage-2 discriminator; china and rocket kept out for validation. Replaces the stage-2
# discriminator with its fp16 copy, whose metadata records the held-out and train figures.
$PY tools/refit_discriminator.py --steps "$REFIT_STEPS" --out "$RUNS/d_refit" --resume \
  --plot assets/weights/discriminator_refit_curves.png --publish assets/weights/srgan_x4_discriminator.safetensors

$PY -m srgan report --runs "$RUNS/srresnet_x4" "$RUNS/srresnet_x4_b" "$RUNS/srgan_x4" --out assets/weights
$PY -m srgan evaluate --heldout --json
