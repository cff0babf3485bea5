"""``lprzoo export``: a trained recognizer as ONNX (fp32 or int8) for ONNX Runtime, with its record inside.

Input ``images``: ``(B, 3, 48, 160)`` float RGB in ``[0, 1]`` with a dynamic batch (normalisation is inside the
graph); output ``logits`` (or ``log_probs``): ``(B, T, K)``.  The file's metadata carries the lprzoo record (charset,
input contract, decoding defaults), the zoo name and the sha256 of the source weights, so
``lprzoo.load("x.onnx")`` rebuilds the same :class:`~lprzoo.reader.PlateReader` with ONNX Runtime underneath.

int8 uses ONNX Runtime's static quantization (QDQ, per-channel weights), calibrated on rendered plates plus real
crops; the LSTMs either stay fp32 (``lstm="fp32"``) or are quantized dynamically (``lstm="dynamic"``): both are
measured in docs/benchmarks.md.  After writing, every file is checked with ONNX Runtime against torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from lprzoo.errors import LprzooError

# what an export writes; a cached export of an older format is exported again (2: int8 keeps the first convolution
# and the output layers in fp32, runtime.fp32_ends)
EXPORT_FORMAT = 2

# the verb's options are read without torch (`lprzoo export --help` answers at once); the work is in .runtime
_RUNTIME = ("OnnxNet", "read_onnx_record", "quantize_int8")


def __getattr__(name: str) -> Any:
    if name in _RUNTIME:
        from lprzoo.export import runtime

        return getattr(runtime, name)
    raise AttributeError(f"module 'lprzoo.export' has no attribute {name!r}")


def export(
    model: str = "",
    out: str | None = None,
    int8: bool = False,
    lstm: Literal["fp32", "dynamic"] = "dynamic",
    opset: int = 17,
    log_probs: bool = False,
    calibration_real: str | None = "../shared/data/real/train",
    calibration_size: int = 512,
    check: str | None = "../shared/data/real/val",
    max_ra_drop: float = 0.01,
) -> Path:
    """Export a recognizer (zoo name, ``.ckpt`` or ``.safetensors``) to ONNX and check it with ONNX Runtime.

    Args:
        model: the recognizer to export.
        out: the ``.onnx`` path; default ``runs/export/<model>[-int8].onnx``.
        int8: also quantize (static QDQ, per-channel; the first convolution and the output layers stay fp32) and
            write the int8 model at ``out``.
        lstm: with ``int8``: quantize the LSTMs dynamically (the default: what ``runtime="onnx-int8"`` runs, the
            fastest at the same RA in docs/benchmarks.md) or keep them in fp32.
        opset: ONNX opset.
        log_probs: output log-probabilities instead of logits.
        calibration_real: real crops mixed into the int8 calibration set (half of it; the rest is rendered); when
            the folder is absent, rendered plates only.
        calibration_size: plates in the calibration set.
        check: labelled real crops (a folder or labels file) that the exported model must read as torch does: the
            export passes when its RA is at most ``max_ra_drop`` below torch's; ``none`` (or an absent folder)
            leaves only a numerical check on random plates, which says nothing of accuracy.
        max_ra_drop: the RA an export may lose against torch on ``check`` (0.01: one point).

    Returns:
        the written ``.onnx`` path.
    """
    if not model:
        raise LprzooError("export: give --model (a zoo name, .ckpt or .safetensors)")
    if not 0 <= max_ra_drop <= 1:
        raise LprzooError(f"export: --max_ra_drop must lie in [0, 1], got {max_ra_drop}")
    from lprzoo.export.runtime import run

    return run(model, out, int8, lstm, opset, log_probs, calibration_real, calibration_size, check, max_ra_drop)
