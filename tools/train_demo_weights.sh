#!/usr/bin/env bash
# Reproduce the bundled weights (assets/weights/) from a fresh clone, on CPU or GPU.
# Each stage resumes exactly where it stopped: run this script again after an interruption.
#   bash tools/train_demo_weights.sh            # full recipe
#   SRRESNET_STEPS=500 SRGAN_STEPS=100 bash tools/train_demo_weights.sh   # a quick smoke run
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-train_runs}
SRRESNET_STEPS=${SRRESNET_STEPS:-6000}
SRGAN_STEPS=${SRGAN_STEPS:-1900}
SRGAN_LR_DROP=${SRGAN_LR_DROP:-1050}

# Stage 1, SRResNet-MSE (Eq. 4): 64x64 HR patches (16x16 LR), batch 16, Adam 2e-4 halved at 75%.
$PY -m srgan train --preset srresnet --data builtin --steps "$SRRESNET_STEPS" --batch-size 16 --hr-patch 64 \
  --learning-rate 2e-4 --lr-milestones $((SRRESNET_STEPS * 3 / 4)) --lr-gamma 0.5 \
  --checkpoint-every 100 --eval-every 250 --out "$RUNS/srresnet_x4" --resume
$PY -m srgan export "$RUNS/srresnet_x4" --name srresnet

# Stage 2, SRGAN (Eq. 3), initialised from stage 1: the paper's 96x96 patches, Adam 1e-4, content + 1e-3 adversarial.
# Without ImageNet VGG19 weights the content loss is MSE (the paper's SRGAN-MSE variant).
# Batch 8 (the paper: 16) doubles the number of alternating D/G updates that fit in the same CPU time.
# As in the paper, the second part runs at a tenth of the learning rate (there: 1e5 steps at 1e-4, 1e5 at 1e-5).
$PY -m srgan train --preset srgan --data builtin --steps "$SRGAN_STEPS" --batch-size 8 --hr-patch 96 \
  --learning-rate 1e-4 --lr-milestones "$SRGAN_LR_DROP" --lr-gamma 0.1 \
  --init-from "$RUNS/srresnet_x4/generator.safetensors" \
  --checkpoint-every 50 --eval-every 100 --out "$RUNS/srgan_x4" --resume
$PY -m srgan export "$RUNS/srgan_x4" --name srgan

$PY -m srgan report --runs "$RUNS/srresnet_x4" "$RUNS/srgan_x4" --out assets/weights
$PY -m srgan evaluate --heldout --json
