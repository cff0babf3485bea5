"""Recognizer speed on the CPU, side by side: inference plates/s and training images/s (paper Table IX).

    python benchmarks/inference.py                         # all default models, prints a markdown table
    python benchmarks/inference.py --ckpt runs/real_baseline/checkpoints/last.ckpt --val ../shared/data/real/val

With ``--ckpt`` and ``--val`` it also measures what each speed lever (channels-last, bf16 autocast,
torch.compile) does to RA on real plates, using that checkpoint.
"""

from __future__ import annotations

import argparse
import time
from contextlib import nullcontext

import torch
from safetensors.torch import save

import lprzoo
from lprzoo.decode import greedy_decode, prefix_beam_search

MODELS = ["crnn", "lightcrnn-1.0", "lightcrnn-1.2", "crnn-resnet18", "crnn-mobilenetv3"]


def timed(fn, min_time: float = 2.0, warmup: int = 2) -> float:
    """Seconds per call: median of repeated calls over at least ``min_time`` seconds."""
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while time.perf_counter() - start < min_time or len(times) < 3:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def prepare(net: torch.nn.Module, lever: str) -> tuple[torch.nn.Module, bool]:
    """Apply a speed lever; returns the module and whether to run under bf16 autocast."""
    if lever in ("channels_last", "channels_last+bf16"):
        net = net.to(memory_format=torch.channels_last)
    if lever == "compile":
        net = torch.compile(net)
    return net, lever.endswith("bf16")


def inference_rate(net, batch: int, threads: int, lever: str) -> float:
    torch.set_num_threads(threads)
    net, bf16 = prepare(net.eval(), lever)
    x = torch.rand(batch, 3, 48, 160)
    if "channels_last" in lever:
        x = x.contiguous(memory_format=torch.channels_last)
    ctx = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext()

    def run():
        with torch.inference_mode(), ctx:
            net(x)

    return batch / timed(run)


def training_rate(name: str, batch: int, threads: int, lever: str) -> float:
    torch.set_num_threads(threads)
    net, bf16 = prepare(lprzoo.create_model(name).train(), lever)
    opt = torch.optim.AdamW(net.parameters())
    x = torch.rand(batch, 3, 48, 160)
    targets, lengths = lprzoo.Charset().encode_batch(["京A12345"] * batch)
    ctx = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext()

    def step():
        with ctx:
            logits = net(x)
        lp = logits.float().log_softmax(-1).transpose(0, 1)
        loss = torch.nn.functional.ctc_loss(lp, targets, torch.full((batch,), lp.shape[0]), lengths)
        loss.backward()
        opt.step()
        opt.zero_grad()

    return batch / timed(step, min_time=4.0)


def size_mb(net: torch.nn.Module) -> float:
    return len(save({k: v.contiguous() for k, v in net.state_dict().items()})) / 2**20


def lever_accuracy(ckpt: str, val: str, levers: list[str]) -> list[tuple[str, float, float]]:
    """RA on ``val`` and plates/s (batch 64, 2 threads) of a trained checkpoint under each lever."""
    module = lprzoo.CRNNModule.load_from_checkpoint(ckpt, map_location="cpu").eval()
    dm = lprzoo.RealPlatesDataModule(test=val, num_workers=0, batch_size=64)
    dm.setup("test")
    batches = list(dm.test_dataloader())
    rows = []
    for lever in levers:
        torch.set_num_threads(2)
        net, bf16 = prepare(module.model, lever)
        ctx = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext()
        correct = total = 0
        with torch.inference_mode(), ctx:
            for b in batches:
                preds = greedy_decode(net(b.images).float().log_softmax(-1), module.charset)
                correct += sum(p.text == t for p, t in zip(preds, b.texts))
                total += len(b)
        rate = inference_rate(module.model, 64, 2, lever)
        rows.append((lever, correct / total, rate))
    return rows


def decode_cost() -> tuple[float, float]:
    """Milliseconds per plate for greedy and prefix beam search (beam 10) on a random model's output."""
    lp = torch.randn(64, 40, 68).log_softmax(-1)
    cs = lprzoo.Charset()
    return timed(lambda: greedy_decode(lp, cs)) / 64 * 1e3, timed(lambda: prefix_beam_search(lp, cs)) / 64 * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=MODELS)
    parser.add_argument(
        "--levers", nargs="+", default=["eager", "channels_last", "bf16", "channels_last+bf16", "compile"]
    )
    parser.add_argument("--ckpt", help="a trained CRNNModule checkpoint, to measure each lever's effect on RA")
    parser.add_argument("--val", help="labelled plates for --ckpt")
    args = parser.parse_args()
    torch.manual_seed(0)

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads available\n")
    print("## Inference, eager fp32 (plates/s)\n")
    print("| model | params (M) | size (MB, fp32 safetensors) | b1 1 thr | b1 2 thr | b64 1 thr | b64 2 thr |")
    print("|---|---|---|---|---|---|---|")
    for name in args.models:
        net = lprzoo.create_model(name)
        rates = [inference_rate(net, b, t, "eager") for b in (1, 64) for t in (1, 2)]
        params = sum(p.numel() for p in net.parameters()) / 1e6
        print(f"| {name} | {params:.2f} | {size_mb(net):.1f} | " + " | ".join(f"{r:.0f}" for r in rates) + " |")

    print("\n## Speed levers, batch 64, 2 threads (inference plates/s; training images/s)\n")
    print(
        "| model | "
        + " | ".join(f"infer {lv}" for lv in args.levers)
        + " | "
        + " | ".join(f"train {lv}" for lv in args.levers if lv != "compile")
        + " |"
    )
    print("|---|" + "---|" * (2 * len(args.levers) - ("compile" in args.levers)))
    for name in args.models:
        infer = [inference_rate(lprzoo.create_model(name), 64, 2, lv) for lv in args.levers]
        train = [training_rate(name, 64, 2, lv) for lv in args.levers if lv != "compile"]
        print(f"| {name} | " + " | ".join(f"{r:.0f}" for r in infer + train) + " |")

    greedy_ms, beam_ms = decode_cost()
    print(f"\nDecoding: greedy {greedy_ms:.3f} ms/plate, prefix beam search (beam 10, top-5) {beam_ms:.3f} ms/plate")

    if args.ckpt and args.val:
        print(f"\n## Levers on a trained model ({args.ckpt}) over {args.val}\n")
        print("| lever | RA | plates/s (b64, 2 thr) |")
        print("|---|---|---|")
        for lever, ra, rate in lever_accuracy(args.ckpt, args.val, args.levers):
            print(f"| {lever} | {ra:.4f} | {rate:.0f} |")


if __name__ == "__main__":
    main()
