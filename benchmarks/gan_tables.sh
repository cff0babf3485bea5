#!/usr/bin/env bash
# Paper Tables IV and V at CPU scale, one stage after another (docs/gan.md has the measured figures).
#
#   bash benchmarks/gan_tables.sh            # everything; each stage is skipped when its output exists
#   STAGE=table4 bash benchmarks/gan_tables.sh
#   (source benchmarks/gan_tables.sh; finetune script runs/tables/pre_script/checkpoints/last.ckpt)  # one step
#
# Every recognizer run uses the same recognizer (LightCRNN-1.2), seed, schedule and budget; rows differ only in
# their training images. Budgets (2-core CPU, one thread per job, bf16 autocast for the recognizers):
#   GANs: epochs of 1,000 unpaired pairs (batch 4, ngf = ndf = 32, 48x160), about the same CPU time each (~1 h
#         of one shared core): CycleWGAN 13 epochs (3,250 critic and 650 G steps at n_critic 5; LR constant 7
#         epochs, then linear over 6), CycleGAN-LSGAN 3 epochs (750 D and G steps; LR constant 2 epochs, then the
#         first third of a linear decay). Both with the label-keeping loss of KEEPER, a recognizer trained on
#         renders only (recipes/script_only.yaml), frozen; docs/gan.md says why.
#   GAN images: renders 0..N-1 of seed 0, translated by the last 4 epoch checkpoints (snapshot ensemble, §IV-C;
#               the last one for the 3-epoch LSGAN);
#               the Script row is the same N renders, untranslated (`lprzoo render`).
#   Table IV: PRE_EPOCHS epochs over the N images (random crops, recipes/gan_only.yaml), tested on real/val.
#   Table V:  FT_EPOCHS epochs of recipes/real_baseline.yaml on real/train, from no / script / GAN pre-training.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

N=${N:-10000}
KEEPER=${KEEPER:-runs/script_only/checkpoints/last.ckpt}
PRE_EPOCHS=${PRE_EPOCHS:-4}
FT_EPOCHS=${FT_EPOCHS:-10}
BATCH=32
OUT=${OUT:-runs/tables}
STAGE=${STAGE:-all}
mkdir -p "$OUT"

gan() {  # name recipe epochs decay_start_epoch decay_epochs
  local root=$OUT/gan_$1
  [[ -f $root/checkpoints/last.ckpt ]] && return
  lprzoo fit --config "recipes/$2.yaml" --trainer.default_root_dir "$root" --trainer.max_epochs "$3" \
    --data.init_args.train_size 1000 --model.init_args.decay_start_epoch "$4" --model.init_args.decay_epochs "$5" \
    --model.init_args.label_keeper "$KEEPER" --trainer.enable_progress_bar false
}

images() {  # name [snapshots]: the labelled images of a Table IV row
  local dir=$OUT/images_$1
  [[ -f $dir/labels.tsv ]] && return
  if [[ $1 == script ]]; then
    lprzoo render --spec blue --n "$N" --seed 0 --out "$dir" --preview "$OUT/images_script.png"
  else
    lprzoo translate --generator "$OUT/gan_$1/checkpoints" --snapshots "${2:-4}" --n "$N" --seed 0 --out "$dir" \
      --image_format jpg \
      --preview "$OUT/images_$1.png" --progress false
  fi
}

pretrain() {  # name: LightCRNN-1.2 on one row's images only (Table IV)
  local root=$OUT/pre_$1 steps=$((PRE_EPOCHS * N / BATCH))
  [[ -f $root/checkpoints/last.ckpt ]] || lprzoo fit --config recipes/gan_only.yaml --trainer.default_root_dir "$root" \
    --trainer.max_epochs "$PRE_EPOCHS" --data.init_args.folder "$OUT/images_$1" \
    --model.init_args.lr_scheduler.init_args.total_steps "$steps" --trainer.enable_progress_bar false
  lprzoo test --config recipes/gan_only.yaml --data.init_args.folder "$OUT/images_$1" \
    --ckpt_path "$root/checkpoints/last.ckpt" --trainer.default_root_dir "$root/test" --trainer.enable_progress_bar false
}

finetune() {  # name [init checkpoint]: recipes/real_baseline.yaml at the fine-tune budget (Table V)
  local root=$OUT/ft_$1 steps=$((FT_EPOCHS * 51))  # 1,637 crops, batch 32, drop_last
  local init=()
  [[ $# -gt 1 ]] && init=(--model.init_args.init_from "$2")
  [[ -f $root/checkpoints/last.ckpt ]] || lprzoo fit --config recipes/real_baseline.yaml \
    --trainer.default_root_dir "$root" --trainer.max_epochs "$FT_EPOCHS" --trainer.check_val_every_n_epoch 5 \
    --model.init_args.lr_scheduler.init_args.total_steps "$steps" "${init[@]}" --trainer.enable_progress_bar false
  lprzoo test --config recipes/real_baseline.yaml --data.init_args.test ../shared/data/real/val \
    --ckpt_path "$root/checkpoints/last.ckpt" --trainer.default_root_dir "$root/test" --trainer.enable_progress_bar false
}

[[ ${BASH_SOURCE[0]} != "$0" ]] && return  # sourced: define the stages only, e.g. `source ...; pretrain script`

if [[ $STAGE == all || $STAGE == gans ]]; then
  gan wgan_keep cyclewgan 13 7 6
  gan lsgan_keep cyclegan_lsgan 3 2 2
fi
if [[ $STAGE == all || $STAGE == table4 ]]; then
  images script; images lsgan_keep 1; images wgan_keep 4  # LSGAN has 3 epochs: its last; CycleWGAN: its last 4
  for row in script lsgan_keep wgan_keep; do pretrain $row; done
fi
if [[ $STAGE == all || $STAGE == table5 ]]; then
  finetune real
  finetune script "$OUT/pre_script/checkpoints/last.ckpt"
  finetune wgan_keep "$OUT/pre_wgan_keep/checkpoints/last.ckpt"
  finetune lsgan_keep "$OUT/pre_lsgan_keep/checkpoints/last.ckpt"
fi
