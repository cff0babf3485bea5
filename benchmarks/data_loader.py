"""Is the loader the bottleneck? Decode and augmentation throughput beside the training step, in one run.

    python benchmarks/data_loader.py --data ../shared/data/real/train

Measures (1) decoding images/s with PIL's JPEG draft mode against a full decode + resize, (2) augmented
batches/s from the cached dataset with 0, 1 and 2 workers, and (3) the LightCRNN-1.2 training step
(bf16 + channels-last, batch 64) that consumes them.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from PIL import Image

import lprzoo
from lprzoo.data.images import load_plate
from lprzoo.data.sources import read_source


def full_decode(path: str) -> torch.Tensor:
    with Image.open(path) as img:
        img = img.convert("RGB").resize((160, 48), Image.BILINEAR)
    return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1)


def rate(fn, items) -> float:
    start = time.perf_counter()
    for it in items:
        fn(it)
    return len(items) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="../shared/data/real/train")
    parser.add_argument("--batches", type=int, default=25)
    args = parser.parse_args()
    torch.set_num_threads(2)
    samples = read_source(args.data, lprzoo.Charset())[:800]
    print(f"{len(samples)} images from {args.data}\n")
    print("| decoder | images/s (1 thread) |\n|---|---|")
    print(f"| PIL full decode + resize | {rate(lambda s: full_decode(s.path), samples):.0f} |")
    print(f"| lprzoo load_plate (JPEG draft) | {rate(load_plate, samples):.0f} |")

    print("\n| loader (cached, augmented, batch 64) | batches/s | images/s |\n|---|---|---|")
    for workers in (0, 1, 2):
        dm = lprzoo.RealPlatesDataModule(train=args.data, num_workers=workers, batch_size=64)
        dm.setup("fit")
        loader = dm.train_dataloader()
        it = iter(loader)
        next(it)  # worker start-up
        start = time.perf_counter()
        n = 0
        for _ in range(args.batches):
            try:
                next(it)
            except StopIteration:
                it = iter(loader)
                next(it)
            n += 1
        per_s = n / (time.perf_counter() - start)
        print(f"| {workers} workers | {per_s:.1f} | {per_s * 64:.0f} |")

    net = lprzoo.create_model("lightcrnn-1.2").to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(net.parameters())
    x = torch.rand(64, 3, 48, 160).contiguous(memory_format=torch.channels_last)
    times = []
    for _ in range(6):
        t = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y = net(x)
        y.float().mean().backward()
        opt.step()
        opt.zero_grad()
        times.append(time.perf_counter() - t)
    step = sorted(times[1:])[len(times[1:]) // 2]
    print(f"\nLightCRNN-1.2 training step (bf16 + channels-last, batch 64, 2 threads): {1 / step:.2f} batches/s")


if __name__ == "__main__":
    main()
