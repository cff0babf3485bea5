"""The work of ``lprzoo export`` (torch, ONNX and ONNX Runtime): the exported graph, int8 quantization, the check
against torch, and :class:`OnnxNet`, the ONNX Runtime session behind the reader.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from lprzoo.errors import LprzooError
from lprzoo.hub import source_sha256
from lprzoo.weights import METADATA_KEY, RecognizerRecord, load_recognizer

log = logging.getLogger(__name__)


class _Exported(nn.Module):
    """The graph that is exported: logits (or log-probabilities), and the kind head's logits when the network has
    one (a second output, ``kind_logits``)."""

    def __init__(self, net: nn.Module, log_probs: bool, with_kind: bool = False) -> None:
        super().__init__()
        self.net, self.log_probs, self.with_kind = net, log_probs, with_kind

    def forward(self, images: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        logits, kind = self.net(images, with_kind=True) if self.with_kind else (self.net(images), None)  # (B, T, K)
        logits = logits.log_softmax(-1) if self.log_probs else logits
        return logits if kind is None else (logits, kind)  # kind: (B, colours + rows)


def _calibration_images(n: int, real: str | None, record: RecognizerRecord, seed: int = 0) -> np.ndarray:
    """``n`` float ``(3, H, W)`` plates as ``record``'s reader takes them (its contract's size and layout) in
    ``[0, 1]``: half rendered (31 provinces; blue, yellow and green, or every plate kind for a reader with a kind
    head), half real crops."""
    from lprzoo.render.plates import ScriptPlates
    from lprzoo.render.specs import SPECS

    if real and not Path(real).is_dir():
        log.info("calibration: %s is absent, calibrating on rendered plates only", real)
        real = None
    specs = dict.fromkeys(SPECS, 1.0) if record.kind_head else {"blue": 0.6, "yellow": 0.35, "green": 0.05}
    size = record.input.size
    renders = ScriptPlates(n, specs, seed=seed + 7, size=size, layout=record.input.layout)
    images = [renders[i][0] for i in range(n // 2 if real else n)]
    if real:
        from lprzoo.charset import Charset
        from lprzoo.data.images import load_plate
        from lprzoo.data.sources import read_source

        samples = read_source(real, Charset(), labelled=False)  # images only: their labels are not needed
        rng = np.random.default_rng(seed)
        for k in rng.choice(len(samples), size=min(n - len(images), len(samples)), replace=False):
            images.append(load_plate(samples[int(k)], *size))
    return torch.stack(images).float().div(255).numpy()


def fp32_ends(model_path: Path) -> list[str]:
    """The nodes an int8 export keeps in fp32: the first convolution, which sees the image itself, and the layers
    that write the graph's outputs (the last ``MatMul``/``Gemm`` before each): with them in fp32 the int8 reader
    reads more plates as torch does, at about 7 % more time (measured in docs/confidence.md and docs/benchmarks.md)."""
    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    producer = {name: node for node in graph.node for name in node.output}
    kept = [next(node.name for node in graph.node if node.op_type == "Conv")]
    for output in graph.output:  # walk back from each output to the linear layer that wrote it
        todo, seen = [output.name], set()
        while todo:
            node = producer.get(todo.pop())
            if node is None or node.name in seen:
                continue
            seen.add(node.name)
            if node.op_type in ("MatMul", "Gemm"):
                kept.append(node.name)
            else:
                todo += list(node.input)
    return kept


def quantize_int8(
    fp32_path: Path, out: Path, calibration: np.ndarray, lstm: Literal["fp32", "dynamic"] = "fp32", batch: int = 32
) -> Path:
    """Static QDQ int8 (per-channel weights) of the convolutions and linear layers but :func:`fp32_ends`; LSTMs
    fp32 or dynamic int8."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter([{"images": calibration[i : i + batch]} for i in range(0, len(calibration), batch)])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.batches, None)

    prepared = out.with_name(out.name + ".prep")
    static_out = out if lstm == "fp32" else out.with_name(out.name + ".static")
    with _quiet_onnxruntime_quantization():
        try:
            quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
            quantize_static(
                str(prepared),
                str(static_out),
                Reader(),
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                weight_type=QuantType.QInt8,
                activation_type=QuantType.QUInt8,
                op_types_to_quantize=["Conv", "MatMul", "Gemm"],
                nodes_to_exclude=fp32_ends(prepared),
                extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
            )
            if lstm == "dynamic":
                quantize_dynamic(str(static_out), str(out), op_types_to_quantize=["LSTM"], weight_type=QuantType.QInt8)
        finally:
            prepared.unlink(missing_ok=True)
            if static_out != out:
                static_out.unlink(missing_ok=True)
    return out


@contextmanager
def _quiet_onnxruntime_quantization() -> Iterator[None]:
    """ONNX Runtime's quantization logs through the root logger: a line per copied bias at INFO, and "Please check
    if the model is already quantized" when the LSTMs of an int8 model are quantized, which is the point here.
    Neither is news to an lprzoo user, so both are dropped for the duration; its other warnings pass."""

    def keep(record: logging.LogRecord) -> bool:
        if record.name != "root":
            return True
        return record.levelno >= logging.WARNING and "already quantized" not in record.getMessage()

    root = logging.getLogger()  # ONNX Runtime calls logging.info / logging.warning: records of the root logger itself
    root.addFilter(keep)
    try:
        yield
    finally:
        root.removeFilter(keep)


def _set_metadata(path: Path, meta: dict[str, str]) -> None:
    import onnx

    model = onnx.load(str(path))
    del model.metadata_props[:]
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))


def run(
    model: str,
    out: str | None,
    int8: bool,
    lstm: Literal["fp32", "dynamic"],
    opset: int,
    log_probs: bool,
    calibration_real: str | None,
    calibration_size: int,
    check: str | None,
    max_ra_drop: float,
) -> Path:
    """:func:`lprzoo.export.export`'s work, once its arguments are checked (torch and ONNX imported here)."""
    net, record = load_recognizer(model)
    name = record.name or Path(str(model)).stem
    target = Path(out or f"runs/export/{name}{'-int8' if int8 else ''}.onnx")  # never the repository root
    target.parent.mkdir(parents=True, exist_ok=True)
    # written under temporary names in the target's folder and renamed at the end: a run killed at any point
    # leaves no truncated .onnx at `target`, and its temporary files are removed when it fails
    work = target.with_name(f".{target.name}.{os.getpid()}.partial")
    fp32_path = work if not int8 else target.with_name(f".{target.name}.{os.getpid()}.fp32.partial")
    wrapper = _Exported(net, log_probs, record.kind_head).eval()
    example = torch.rand(2, 3, record.input.height, record.input.width)
    output = "log_probs" if log_probs else "logits"
    outputs = [output, "kind_logits"] if record.kind_head else [output]
    meta = {
        METADATA_KEY: record.to_json(),
        "zoo_name": record.name or "",
        "source_sha256": source_sha256(model),
        "charset": record.charset.chars,  # the alphabet spelled out, for readers without lprzoo (the record has it)
        "output": output,
        "precision": "int8" if int8 else "fp32",
    }
    try:
        with warnings.catch_warnings():
            # Known false alarms of the TorchScript exporter for this network, checked by the tests instead: the
            # LSTM "batch_size other than 1" warning (ONNX Runtime runs the exported LSTM at any batch size,
            # tests/test_export.py reads batch 9), and tracer warnings on shape checks that are constant for a
            # fixed input size (the record's).
            warnings.filterwarnings("ignore", message=r".*batch_size other than 1.*LSTM", category=UserWarning)
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
            # The TorchScript-based exporter writes LightCRNN-1.2 in < 1 s with native LSTM ops and a dynamic
            # batch; the dynamo exporter gives the same graph in ~15 s (measured on this project's CPU).
            torch.onnx.export(
                wrapper, (example,), str(fp32_path), input_names=["images"], output_names=outputs,
                dynamic_axes={"images": {0: "batch"}, **{o: {0: "batch"} for o in outputs}}, opset_version=opset,
                dynamo=False,
            )  # fmt: skip
        if int8:
            calibration = _calibration_images(calibration_size, calibration_real, record)
            quantize_int8(fp32_path, work, calibration, lstm)
            meta["int8"] = json.dumps({"lstm": lstm, "calibration": f"{calibration_size} plates (rendered + real)"})
        _set_metadata(work, meta)
        os.replace(work, target)
    finally:
        for path in {work, fp32_path}:
            path.unlink(missing_ok=True)
    _check(target, record, wrapper, check, max_ra_drop)
    return target


def _read(net: nn.Module, images: torch.Tensor, record: RecognizerRecord, batch: int = 64) -> list[str]:
    """Greedy readings (the paper's, §IV-C) of ``uint8 (N, 3, H, W)`` plates by a network (torch or ONNX Runtime)."""
    from lprzoo.decode import greedy_decode

    texts: list[str] = []
    with torch.inference_mode():
        for start in range(0, len(images), batch):
            logits = net(images[start : start + batch].float().div(255))  # (B, T, K), or with the kind's logits
            logits = logits[0] if isinstance(logits, tuple) else logits
            texts += [p.text for p in greedy_decode(logits.float().log_softmax(-1), record.charset)]
    return texts


def _check(target: Path, record: RecognizerRecord, wrapper: nn.Module, check: str | None, max_ra_drop: float) -> None:
    """ONNX Runtime (``target``) against torch (``wrapper``, the network just exported): on labelled crops, greedy RA
    and identical readings (pass or fail); else max |Δ| on random plates."""
    size = f"{target.stat().st_size / 2**20:.1f} MB"
    exported = OnnxNet(target)
    if check in (None, "", "none") or not Path(check).exists():
        x = torch.rand(16, 3, record.input.height, record.input.width)
        with torch.inference_mode():
            ours = wrapper(x)
            delta = float((exported(x) - (ours[0] if isinstance(ours, tuple) else ours)).abs().max())
        log.info("wrote %s (%s); no labelled crops to check accuracy on (--check DIR): max |Δ| = %.2e against torch "
                 "on 16 random plates", target, size, delta)  # fmt: skip
        return
    from lprzoo.evaluate import labelled_images

    images, labels = labelled_images(check, record)
    readings = {"torch": _read(wrapper, images, record), "onnx": _read(exported, images, record)}
    ra = {k: float(np.mean([t == label for t, label in zip(v, labels)])) for k, v in readings.items()}
    same = sum(a == b for a, b in zip(readings["torch"], readings["onnx"]))
    verdict = "PASS" if ra["onnx"] >= ra["torch"] - max_ra_drop else "FAIL"
    message = (
        f"{verdict}: {target} ({size}) on {len(labels)} labelled crops of {check}: RA {100 * ra['onnx']:.1f} % "
        f"against torch {100 * ra['torch']:.1f} % ({100 * (ra['onnx'] - ra['torch']):+.1f} pp; allowed "
        f"-{100 * max_ra_drop:.1f}), {same}/{len(labels)} readings identical"
    )
    if verdict == "FAIL":
        raise LprzooError(message)
    log.info("%s", message)


class OnnxNet(nn.Module):
    """An ONNX Runtime session behind the ``nn.Module`` interface the reader uses: images -> logits ``(B, T, K)``."""

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        super().__init__()
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.path = str(path)
        self.session = ort.InferenceSession(self.path, options, providers=["CPUExecutionProvider"])
        self.output = self.session.get_outputs()[0].name

    def forward(
        self, images: torch.Tensor, with_kind: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        outs = self.session.run(None, {"images": images.detach().float().cpu().contiguous().numpy()})
        logits = torch.from_numpy(outs[0])  # (B, T, K) logits or log-probabilities (log_softmax is idempotent)
        if not with_kind:
            return logits
        kind = torch.from_numpy(outs[1]) if len(outs) > 1 else logits.new_zeros(logits.shape[0], 0)
        return logits, kind  # (B, colours + rows)


def read_onnx_record(path: str | Path) -> tuple[RecognizerRecord, dict[str, Any]]:
    """The lprzoo record and metadata of an exported ``.onnx`` file."""
    import onnx

    if not Path(path).is_file():
        raise LprzooError(f"{path}: no such ONNX file")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # protobuf's DecodeError and friends: not an ONNX model at all
        raise LprzooError(f"{path}: not an ONNX model ({type(e).__name__})") from None
    meta = {p.key: p.value for p in model.metadata_props}
    if METADATA_KEY not in meta:
        raise LprzooError(f"{path}: an ONNX file without an lprzoo record (export it with `lprzoo export`)")
    try:
        return RecognizerRecord.from_dict(json.loads(meta[METADATA_KEY])), meta
    except (ValueError, TypeError, KeyError) as e:
        raise LprzooError(f"{path}: its lprzoo record is malformed ({e})") from None
