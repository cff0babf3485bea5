"""The default training precision, chosen by the machine (never hard-coded in a recipe).

bf16 autocast is fast only where the hardware computes bf16 natively: GPUs with bf16 support (Ampere and newer),
and CPUs with AVX512_BF16 or AMX-BF16.  Elsewhere, e.g. on AVX2-only CPUs, PyTorch emulates it and a LightCRNN
training step is ~6x slower than fp32 (measured, docs/benchmarks.md), so the default there is ``32-true``.
An explicit ``--trainer.precision`` always wins.

oneDNN's ``ONEDNN_MAX_CPU_ISA`` cap counts too: with ``ONEDNN_MAX_CPU_ISA=AVX2`` (and ``ATEN_CPU_CAPABILITY=avx2``)
an AVX-512/AMX CPU runs the kernels of an AVX2-only one, bf16 emulated included (measured: a LightCRNN-1.2 step
1.19 s fp32, 10.5 s bf16), so the chooser then picks ``32-true`` like on a real AVX2 CPU.  This is how
``docs/benchmarks.md`` times the AVX2 path on a machine that has more.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

NATIVE_BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
# oneDNN ISA caps (https://oneapi-src.github.io/oneDNN/dev_guide_cpu_dispatcher_control.html) that keep native bf16.
BF16_ONEDNN_ISAS = frozenset(
    {"ALL", "AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX512_CORE_AMX", "AVX512_CORE_AMX_FP16"}
    | {"AVX10_1_512", "AVX10_1_512_AMX", "AVX10_1_512_AMX_FP16", "AVX10_2_512", "AVX10_2_512_AMX_2"}
)
SPEED_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


@lru_cache(maxsize=1)
def _cpuinfo_field(prefixes: tuple[str, ...]) -> str:
    """The first ``/proc/cpuinfo`` line starting with one of ``prefixes``, after its colon ("" where unreadable)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""
    return next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith(prefixes)), "")


def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags from ``/proc/cpuinfo`` (empty where it cannot be read, e.g. macOS)."""
    return frozenset(_cpuinfo_field(("flags", "Features")).split())


def cpu_summary() -> str:
    """The CPU's model name and the flags that decide training precision and int8 speed, for benchmark records."""
    import platform

    name = _cpuinfo_field(("model name",)) or platform.processor() or "unknown CPU"
    flags = [f for f in SPEED_FLAGS if f in cpu_flags()]
    caps = [f"{k}={os.environ[k]}" for k in ("ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY") if os.environ.get(k)]
    capped = f"; kernels capped by {' '.join(caps)}" if caps else ""
    return f"{name}; flags: {' '.join(flags) or 'none of ' + ', '.join(SPEED_FLAGS)}{capped}"


def choose_precision(
    accelerator: str | None = "auto",
    flags: frozenset[str] | set[str] | None = None,
    cuda_available: bool | None = None,
    cuda_bf16: bool | None = None,
    onednn_isa: str | None = None,
) -> tuple[str, str]:
    """``(precision, why)`` for Lightning's ``Trainer(precision=...)`` on this machine.

    Args:
        accelerator: the trainer's accelerator (``auto``, ``cpu``, ``gpu``, ``cuda``, ...).
        flags, cuda_available, cuda_bf16: the machine's facts; read from it when ``None`` (tests pass them).
        onednn_isa: oneDNN's ISA cap; ``$ONEDNN_MAX_CPU_ISA`` when ``None`` (unset: no cap).
    """
    import torch  # here: `lprzoo publish --help` and friends read cpu_summary without it

    accelerator = str(accelerator or "auto").lower()
    if cuda_available is None:
        cuda_available = torch.cuda.is_available()
    on_gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and cuda_available)
    if on_gpu:
        if cuda_bf16 is None:
            cuda_bf16 = cuda_available and torch.cuda.is_bf16_supported()
        if cuda_bf16:
            return "bf16-mixed", "the GPU computes bf16 natively"
        return "32-true", "the GPU has no native bf16"
    flags = cpu_flags() if flags is None else frozenset(flags)
    native = [f for f in NATIVE_BF16_CPU_FLAGS if f in flags]
    cap = (os.environ.get("ONEDNN_MAX_CPU_ISA", "") if onednn_isa is None else onednn_isa).strip().upper()
    if native and cap and cap not in BF16_ONEDNN_ISAS:
        return "32-true", f"ONEDNN_MAX_CPU_ISA={cap} caps oneDNN below native bf16: bf16 would be emulated"
    if native:
        return "bf16-mixed", f"the CPU computes bf16 natively ({', '.join(native)})"
    return "32-true", "the CPU has no native bf16 (no avx512_bf16 / amx_bf16): bf16 would be emulated, ~6x slower"
