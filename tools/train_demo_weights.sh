#!/usr/bin/env bash
# Reproduce the bundled weights (assets/weights/) from a fresh clone, on CPU or GPU (see assets/weights/README.md).
# Each stage resumes where it stopped (--resume): run this script again after an interruption.
#   bash tools/train_demo_weights.sh                                   # the full recipe
#   STAGE1A_STEPS=200 STAGE1B_STEPS=100 SRGAN_STEPS=100 REFIT_STEPS=20 CORPUS_SRRESNET_STEPS=100 \
#     CORPUS_SRGAN_STEPS=60 CORPUS_REFIT_STEPS=20 ROUND4_SRGAN_STEPS=60 ROUND4_REFIT_STEPS=20 \
#     ROUND5_SRRESNET_STEPS=70 ROUND5_SRGAN_STEPS=60 ROUND5_REFIT_STEPS=20 \
#     bash tools/train_demo_weights.sh                                         # a quick smoke run
# Stage 1a ran on 2 CPU cores; stages 1b and 2 ran on a lent H100 (tools/gpu_session.py); stage 3 on 2 CPU cores.
# The third to fifth rounds (stages 4-6, 8-9 and 10-12, issue #16: the photo corpus, EMA, LDL, L1, soft copies,
# the flat boost) ran on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-train_runs}
STAGE1A_STEPS=${STAGE1A_STEPS:-6000}
STAGE1B_STEPS=${STAGE1B_STEPS:-6350}
SRGAN_STEPS=${SRGAN_STEPS:-6800}
REFIT_STEPS=${REFIT_STEPS:-500}
CORPUS=${CORPUS:-data/corpus}
CORPUS_SRRESNET_STEPS=${CORPUS_SRRESNET_STEPS:-9000}
CORPUS_SRGAN_STEPS=${CORPUS_SRGAN_STEPS:-2400}
CORPUS_REFIT_STEPS=${CORPUS_REFIT_STEPS:-200}
ROUND4_SRGAN_STEPS=${ROUND4_SRGAN_STEPS:-2400}
ROUND4_REFIT_STEPS=${ROUND4_REFIT_STEPS:-200}
ROUND5_SRRESNET_STEPS=${ROUND5_SRRESNET_STEPS:-7000}
ROUND5_SRGAN_STEPS=${ROUND5_SRGAN_STEPS:-2400}
ROUND5_REFIT_STEPS=${ROUND5_REFIT_STEPS:-200}

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

# Third round. The corpus: 45 photographs from Debian's wallpaper and puzzle packages (apt-get download) and the
# Python packages' photos, each at three long sides (tools/build_corpus.py; docs/dataset_card.md).
$PY tools/build_corpus.py --out "$CORPUS"

# Stage 4, SRResNet-MSE continued on the corpus from stage 1b: 64x64 patches (CPU-sized), Adam 1e-4 halved at 2/3.
$PY -m srgan train --preset srresnet --data "corpus:$CORPUS" --steps "$CORPUS_SRRESNET_STEPS" --batch-size 16 \
  --hr-patch 64 --learning-rate 1e-4 --lr-milestones $((CORPUS_SRRESNET_STEPS * 2 / 3)) --lr-gamma 0.5 \
  --init-from assets/weights/srresnet_x4.safetensors \
  --checkpoint-every 200 --eval-every 500 --out "$RUNS/srresnet_corpus" --resume
$PY -m srgan export "$RUNS/srresnet_corpus" --name srresnet

# Stage 5, SRGAN-MSE (Eq. 3) on the corpus from stage 4, the discriminator from stage 3; beyond the paper: an
# EMA of G's weights (0.998, kept in the run) and LDL's artifact loss (weight 1, Liang et al. 2022).
$PY -m srgan train --preset srgan --data "corpus:$CORPUS" --steps "$CORPUS_SRGAN_STEPS" --batch-size 16 \
  --hr-patch 64 --learning-rate 1e-4 --lr-milestones $((CORPUS_SRGAN_STEPS * 3 / 4)) --lr-gamma 0.1 \
  --content-loss mse --init-from assets/weights/srresnet_x4.safetensors --init-discriminator srgan_discriminator \
  --ema-decay 0.998 --artifact-weight 1 --checkpoint-every 100 --eval-every 300 --out "$RUNS/srgan_corpus" --resume
# Ships G's last weights: the EMA of an oscillating GAN generator averaged its textures away (busy-area detail
# 0.41 of HR's against G's ~0.5-0.9 on the held-out photos; see the model card).
# --generator-only: the bundled discriminator stays round 2's (see stage 6).
$PY -m srgan export "$RUNS/srgan_corpus" --name srgan --weights last --generator-only

# Stage 6, the discriminator refit against the stage-5 generator (as stage 3), from stage 5's discriminator. Not
# published: the file is 47 MB (23.6 M parameters in fp16, 19 M of them the dense layer), and a tracked file that
# large is replaced only once a smaller format exists; its figures are in the model card.
$PY tools/refit_discriminator.py --steps "$CORPUS_REFIT_STEPS" --init "$RUNS/srgan_corpus/discriminator.safetensors" \
  --out "$RUNS/d_refit_corpus" --resume --plot "$RUNS/d_refit_corpus/curves.png"

# Fourth round (issue #16 again, 2 CPU cores, bf16 autocast for the forward passes: --amp; stage 8 took 24 min on
# 2 cores of an Intel Xeon with AMX, 1.6-1.8 steps/s). Two runs were tried and not shipped:
# - a stage 7, SRResNet continued at Adam 5e-5, stopped after 2,000 steps (29.00 dB on the training-time held-out
#   crops against stage 4's 29.02): stage 4's SRResNet stays;
# - stage 8 as below (same schedule) but with the paper's MSE content loss instead of L1 (--content-loss mse, no --content-weight): LDL at 10
#   and the soft copies alone left the noise where photos are smooth (flat 4.14 on the 2-px-blurred held-out
#   photos) and took texture away (busy 0.48).
# Rounds 4 and 5 train the SRGAN and refit its discriminator the same way; only the content loss differs.
# srgan_l1 STEPS OUT [options]: the SRGAN from the bundled SRResNet (and D), L1 content loss, 64-px patches,
# Adam 1e-4 then 1e-5 from 75 % of the steps, LDL at 10, soft copies; then its last G is exported as srgan.
srgan_l1() {
  local steps=$1 out=$2
  shift 2
  $PY -m srgan train --preset srgan --data "corpus:$CORPUS" --steps "$steps" --batch-size 16 --hr-patch 64 \
    --learning-rate 1e-4 --lr-milestones $((steps * 3 / 4)) --lr-gamma 0.1 --amp --content-loss l1 "$@" \
    --init-from assets/weights/srresnet_x4.safetensors --init-discriminator srgan_discriminator \
    --ema-decay 0.998 --artifact-weight 10 --soft-copies 1 2 --soft-share 0.25 --checkpoint-every 100 \
    --eval-every 300 --out "$out" --resume
  $PY -m srgan export "$out" --name srgan --weights last --generator-only
}
# refit_d STEPS RUN OUT: D refit against RUN's frozen G (as stages 3 and 6), published with its dense layer stored
# at rank 128 (14 MB instead of 47; srgan/checkpoints.py: low_rank_factors).
refit_d() {
  $PY tools/refit_discriminator.py --steps "$1" --init "$2/discriminator.safetensors" --out "$3" --resume \
    --dense-rank 128 --plot assets/weights/discriminator_refit_curves.png \
    --publish assets/weights/srgan_x4_discriminator.safetensors
}

# Stage 8, round 4's SRGAN, from stage 4 with three changes against noise where a photo is flat: an L1 content
# loss at 0.1 (ESRGAN's pixel loss: faint speckle costs as much per pixel as a large error), LDL's weight 10
# instead of 1 (at 1 its gradient was 1/30 of the adversarial term's: a no-op), and soft copies of every photo
# (Gaussian blur 1 and 2 px before the downsampling) for a quarter of the patches. D starts from the bundled one
# (at the time round 2's).
srgan_l1 "$ROUND4_SRGAN_STEPS" "$RUNS/srgan_l1" --content-weight 0.1
# Stage 9, the discriminator refit against the stage-8 generator.
refit_d "$ROUND4_REFIT_STEPS" "$RUNS/srgan_l1" "$RUNS/d_refit_round4"

# Stage 10, the shipped SRResNet: stage 4's continued at the paper's 96x96 HR patches on the corpus, Adam 1e-4
# halved at 50, 71 and 86 % of the steps.
$PY -m srgan train --preset srresnet --data "corpus:$CORPUS" --steps "$ROUND5_SRRESNET_STEPS" --batch-size 16 \
  --hr-patch 96 --learning-rate 1e-4 --lr-gamma 0.5 --lr-milestones $((ROUND5_SRRESNET_STEPS / 2)) \
  $((ROUND5_SRRESNET_STEPS * 5 / 7)) $((ROUND5_SRRESNET_STEPS * 6 / 7)) --amp --threads 2 \
  --init-from assets/weights/srresnet_x4.safetensors --checkpoint-every 200 --eval-every 500 \
  --out "$RUNS/srresnet_96" --resume
$PY -m srgan export "$RUNS/srresnet_96" --name srresnet

# Stage 11, the shipped SRGAN: stage 8's recipe from stage 10 (and stage 9's D), with the L1 content loss at 0.07
# weighted x3 at HR's flattest pixels down to x1 at its busiest (--flat-boost 3, srgan/losses.py: flatness_weights).
srgan_l1 "$ROUND5_SRGAN_STEPS" "$RUNS/srgan_flat" --content-weight 0.07 --flat-boost 3
# Stage 12, the shipped discriminator: refit against the stage-11 generator.
refit_d "$ROUND5_REFIT_STEPS" "$RUNS/srgan_flat" "$RUNS/d_refit_round5"

$PY -m srgan report --runs "$RUNS/srresnet_96" "$RUNS/srgan_flat" --out assets/weights
$PY -m srgan evaluate --heldout --json
