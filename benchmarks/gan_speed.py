"""GAN speed on the CPU, side by side: training batches/s per translator and adversarial strategy (CycleGAN with
LSGAN, WGAN, WGAN-GP; FastCUT with LSGAN), and translation images/s.

    python benchmarks/gan_speed.py                                   # markdown tables
    python benchmarks/gan_speed.py --threads 1 2 --ngf 32 64 --batches 30
    python benchmarks/gan_speed.py --ngf 32 --sizes 48x160 --rows LSGAN WGAN FastCUT --no_translate

Training: ``CycleGANModule.training_step`` (``CUTModule``'s for FastCUT) through a real ``Trainer`` (manual
optimisation, pools, clipping, logging) on random batches, so that the figure is what
``lprzoo fit --config recipes/cyclewgan.yaml`` runs at, without the data loader (rendering a plate costs ~0.5 ms,
see render_throughput.py). With ``n_critic = 5`` four batches in five update only the critics, so WGAN's batches
are cheaper than LSGAN's; the table also gives generator updates/s.

Translation: the generator alone (``G(s)``, batch 64) and ``lprzoo translate`` end to end (render + G + PNG write).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
import warnings
from pathlib import Path

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, Dataset

from lprzoo.refine import LSGAN, WGAN, WGANGP, CUTModule, CycleGANModule
from lprzoo.refine.translate import translate

# row -> (translator, adversarial strategy); the first three are CycleGAN's
ROWS = {
    "LSGAN": (CycleGANModule, LSGAN),
    "WGAN": (CycleGANModule, WGAN),
    "WGANGP": (CycleGANModule, WGANGP),
    "FastCUT": (CUTModule, LSGAN),
}


class RandomUnpaired(Dataset):
    def __init__(self, n: int, size: tuple[int, int]) -> None:
        self.n, self.size = n, size

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        g = torch.Generator().manual_seed(i)
        s, r = (torch.rand(3, *self.size, generator=g) * 2 - 1 for _ in range(2))
        return {"S": s, "R": r, "S_text": "皖A12345"}


class BatchTimer(pl.Callback):
    """Wall-clock of the training batches after ``warmup`` of them."""

    def __init__(self, warmup: int) -> None:
        self.warmup, self.start, self.count = warmup, None, 0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == self.warmup:
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.start is not None:
            self.count += 1
            self.elapsed = time.perf_counter() - self.start


def training_rate(row: str, ngf: int, size: tuple[int, int], batch: int, batches: int, threads: int) -> float:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    translator, strategy = ROWS[row]
    model = translator(strategy(), ngf=ngf, ndf=ngf, sample_every_n_epochs=0)
    warmup = 5
    timer = BatchTimer(warmup)
    with tempfile.TemporaryDirectory() as root:
        trainer = pl.Trainer(
            max_epochs=1, accelerator="cpu", default_root_dir=root, logger=False, enable_checkpointing=False,
            enable_progress_bar=False, enable_model_summary=False, callbacks=[timer],
        )  # fmt: skip
        loader = DataLoader(RandomUnpaired(batch * (batches + warmup), size), batch_size=batch)
        trainer.fit(model, loader)
    return timer.count / timer.elapsed


def generator_rate(ngf: int, threads: int, batch: int = 64) -> float:
    torch.set_num_threads(threads)
    g = CycleGANModule(ngf=ngf, ndf=ngf).G.eval()
    x = torch.rand(batch, 3, 48, 160) * 2 - 1
    with torch.inference_mode():
        g(x)
        start, n = time.perf_counter(), 0
        while time.perf_counter() - start < 4 or n < 3:
            g(x)
            n += 1
    return n * batch / (time.perf_counter() - start)


def translate_rate(ngf: int, threads: int, n: int) -> float:
    """``lprzoo translate`` end to end with an untrained generator checkpoint (speed does not depend on weights)."""
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as root:
        model = CycleGANModule(ngf=ngf, ndf=ngf)
        trainer = pl.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False, max_epochs=0)
        trainer.strategy.connect(model)
        ckpt = Path(root) / "g.ckpt"
        trainer.save_checkpoint(ckpt)
        start = time.perf_counter()
        translate(str(ckpt), out=str(Path(root) / "out"), n=n, num_workers=1, progress=False)
        return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, nargs="+", default=[2])
    parser.add_argument("--ngf", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--batches", type=int, default=25, help="timed training batches per configuration")
    parser.add_argument("--translate_n", type=int, default=512)
    parser.add_argument("--sizes", nargs="+", default=["48x160", "128x128"], help="training sizes, HxW")
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--no_translate", action="store_true", help="skip the translation table")
    args = parser.parse_args()
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    logging.getLogger("lprzoo").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")

    print("| translator, strategy | ngf = ndf | size | threads | batches/s | images/s (S + R) | generator updates/s |")
    print("|---|---|---|---|---|---|---|")
    for ngf in args.ngf:
        for size in [tuple(int(v) for v in s.split("x")) for s in args.sizes]:
            for threads in args.threads:
                for name in args.rows:
                    translator, strategy = ROWS[name]
                    rate = training_rate(name, ngf, size, args.batch, args.batches, threads)
                    images = 2 * rate * args.batch  # S and R
                    label = f"{translator.__name__.removesuffix('Module')}, {strategy.__name__}"
                    row = f"| {label} | {ngf} | {size[0]}×{size[1]} | {threads} | {rate:.2f} | {images:.1f} "
                    print(row + f"| {rate / strategy().n_critic:.2f} |", flush=True)
    print()
    if args.no_translate:
        return
    print("| ngf | threads | G(s) images/s (batch 64, 48×160) | `lprzoo translate` images/s (render + G + PNG) |")
    print("|---|---|---|---|")
    for ngf in args.ngf:
        for threads in args.threads:
            g = generator_rate(ngf, threads)
            t = translate_rate(ngf, threads, args.translate_n)
            print(f"| {ngf} | {threads} | {g:.0f} | {t:.0f} |", flush=True)


if __name__ == "__main__":
    main()
