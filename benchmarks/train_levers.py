"""Training-throughput levers for one LightCRNN-1.2 step, side by side in one run (issue house-and-speed).

    python benchmarks/train_levers.py --threads 1 2 --batch 32 64 [--profile]

Each row is a full optimizer step (forward, CTC loss, backward, AdamW) on random plates; images/s is the median
over at least 3 s after warm-up.  Levers: memory format (contiguous / channels-last), precision (fp32 / bf16
autocast), ``torch.compile`` of the network.  ``--profile`` prints the top operators of one fp32 step.  The CPU and
its flags are printed first: bf16 is only fast where it is native (AVX512_BF16 / AMX), see lprzoo.precision.
"""

from __future__ import annotations

import argparse
import time
from contextlib import nullcontext

import torch

import lprzoo
from lprzoo.losses import ctc_loss
from lprzoo.precision import cpu_summary

LEVERS = ["fp32", "channels_last", "channels_last+bf16", "compile+channels_last", "compile+channels_last+bf16"]


def make_step(lever: str, batch: int):
    torch.manual_seed(0)
    net = lprzoo.create_model("lightcrnn-1.2").train()
    channels_last = "channels_last" in lever
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    forward = torch.compile(net) if lever.startswith("compile") else net
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    x = torch.rand(batch, 3, 48, 160)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    targets = torch.randint(1, 68, (batch, 7))
    lengths = torch.full((batch,), 7)
    bf16 = lever.endswith("bf16")

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext():
            log_probs = forward(x).float().log_softmax(-1)  # (B, T, K)
        loss = ctc_loss(log_probs, targets, lengths)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def rate(lever: str, batch: int, threads: int, min_time: float) -> float:
    torch.set_num_threads(threads)
    step = make_step(lever, batch)
    for _ in range(3 if lever.startswith("compile") else 2):
        step()  # warm-up (compile happens here)
    times = []
    start = time.perf_counter()
    while time.perf_counter() - start < min_time or len(times) < 3:
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return batch / sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--levers", nargs="+", default=LEVERS)
    parser.add_argument("--min_time", type=float, default=3.0)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    print(f"CPU: {cpu_summary()}\n")
    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        torch.set_num_threads(max(args.threads))
        step = make_step("fp32", 32)
        step()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            step()
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))
    print("| lever | " + " | ".join(f"b{b} {t}thr" for b in args.batch for t in args.threads) + " |")
    print("|---|" + "---|" * (len(args.batch) * len(args.threads)))
    for lever in args.levers:
        cells = [f"{rate(lever, b, t, args.min_time):.1f}" for b in args.batch for t in args.threads]
        print(f"| {lever} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
