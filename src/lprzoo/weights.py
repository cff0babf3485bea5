"""The project's one checkpoint loader: Lightning checkpoints, safetensors files and zoo entries alike.

A trained recognizer's file carries its **record** (:class:`RecognizerRecord`): architecture and its arguments,
charset, input contract and decoding defaults, so the file alone rebuilds a ready network:

- a safetensors file keeps it as JSON under the metadata key ``lprzoo``;
- a Lightning checkpoint of :class:`~lprzoo.recognize.module.CRNNModule` keeps it in its ``hyper_parameters``.

Everything is read with ``weights_only=True`` or from safetensors: nothing is ever unpickled.  Remote files come
only through :func:`lprzoo.hub.resolve` (sha256-verified).  Networks are built through the model registry, so this
module imports no pipeline stage.
"""

from __future__ import annotations

import json
import logging
import pickle
import zipfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lprzoo.batch import INPUT, InputContract
from lprzoo.calibration import Calibration
from lprzoo.charset import Charset
from lprzoo.errors import CheckpointError, LprzooError
from lprzoo.hub import ZooRecord, resolve
from lprzoo.registry import MODELS

log = logging.getLogger(__name__)

METADATA_KEY = "lprzoo"


@dataclass
class RecognizerRecord:
    """Everything needed to run a trained recognizer besides its tensors."""

    arch: str = "lightcrnn-1.2"
    arch_kwargs: dict[str, Any] = field(default_factory=dict)
    extra_chars: str = ""
    input: InputContract = INPUT
    beam_width: int = 10
    top_n: int = 5
    name: str | None = None  # the zoo name, when it came from the zoo
    calibration: Calibration | None = None  # temperature and operating points (lprzoo calibrate)
    kind_head: bool = False  # the network also predicts the plate's colour and rows (lprzoo.kinds)

    @property
    def charset(self) -> Charset:
        return Charset(self.extra_chars)

    def to_json(self) -> str:
        d = asdict(self)
        d["input"] = self.input.to_dict()
        if self.calibration is None:
            del d["calibration"]  # records without one stay as they were
        if not self.kind_head:
            del d["kind_head"]
        return json.dumps(d, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RecognizerRecord:
        d = dict(d)
        d["input"] = InputContract.from_dict(d.get("input", {}))  # none saved: the paper's size, one row
        d["calibration"] = Calibration.from_dict(d.get("calibration"))
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})

    @classmethod
    def from_hparams(cls, hp: dict[str, Any]) -> RecognizerRecord:
        """The record of a ``CRNNModule`` checkpoint's hyper-parameters."""
        top_n = hp.get("top_n") or (5,)
        return cls(
            arch=hp.get("arch", "lightcrnn-1.2"),
            arch_kwargs=dict(hp.get("arch_kwargs") or {}),
            extra_chars=hp.get("extra_chars", ""),
            beam_width=int(hp.get("beam_width", 10)),
            top_n=int(max(top_n) if isinstance(top_n, (list, tuple)) else top_n),
            kind_head=bool(hp.get("kind_head", False)),
            input=InputContract.from_dict(hp["contract"]) if hp.get("contract") else INPUT,
        )

    def build(self) -> nn.Module:
        """A randomly initialised network of this record's architecture, normalising inputs as its contract says."""
        net = MODELS.get(self.arch)(num_classes=self.charset.num_classes, **self.arch_kwargs)
        if self.kind_head:
            from lprzoo.kinds import COLOURS, ROWS

            net.attach_kind_head(len(COLOURS), len(ROWS))
        if hasattr(net, "set_normalisation"):  # the contract is applied, not only recorded
            net.set_normalisation(self.input.mean, self.input.std)
        return net


@dataclass
class LoadedWeights:
    """What :func:`read_weights` found: the tensors, the metadata of the file and where it came from."""

    path: Path
    state_dict: dict[str, torch.Tensor]
    hparams: dict[str, Any]
    metadata: dict[str, str]
    zoo: ZooRecord | None = None


def read_weights(source: str | Path) -> LoadedWeights:
    """Read a zoo name, a hashed URL, a ``.safetensors`` file or a Lightning ``.ckpt`` without unpickling.

    Raises:
        CheckpointError: a folder, random bytes, a truncated file or a file of another kind, in one line.
    """
    path, zoo = resolve(source)
    if path.is_dir():
        raise CheckpointError(path, "is a folder, not a weights file (give a .ckpt or .safetensors file)")
    if path.suffix == ".safetensors" or _is_safetensors(path):
        from safetensors import SafetensorError
        from safetensors.torch import safe_open

        try:
            with safe_open(str(path), framework="pt") as f:  # one pass: the record and the tensors
                metadata = dict(f.metadata() or {})
                state = {key: f.get_tensor(key) for key in f.keys()}
        except (SafetensorError, OSError, ValueError) as e:
            raise CheckpointError(path, f"not a readable safetensors file ({e})") from None
        return LoadedWeights(path, state, {}, metadata, zoo)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "Weights only load failed" in str(e) and zipfile.is_zipfile(path):
            reason = "holds pickled Python objects beyond tensors; refused (never unpickled)"
        else:
            reason = "not a checkpoint (not a PyTorch file: random bytes or another format)"
        raise CheckpointError(path, reason) from None
    except Exception as e:
        with path.open("rb") as f:
            is_torch_zip = f.read(4) == b"PK\x03\x04"  # a torch.save archive starts as a zip file
        if not is_torch_zip:
            raise CheckpointError(
                path, "not a checkpoint (not a PyTorch file: random bytes or another format)"
            ) from None
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(path, f"not a readable checkpoint, truncated or corrupt ({first[:160]})") from None
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise CheckpointError(path, "not a Lightning checkpoint (no state_dict inside)")
    hparams = dict(ckpt.get("hyper_parameters") or {})
    hparams["_datamodule"] = dict(ckpt.get("datamodule_hyper_parameters") or {})
    if "charset" in ckpt:
        hparams["_charset"] = ckpt["charset"]
    return LoadedWeights(path, ckpt["state_dict"], hparams, {}, zoo)


def _is_safetensors(path: Path) -> bool:
    """A safetensors file starts with an 8-byte header length and a JSON header (any suffix, e.g. a cache file)."""
    try:
        with path.open("rb") as f:
            head = f.read(9)
    except OSError:
        return False
    return len(head) == 9 and head[8:9] == b"{"


def recognizer_state(loaded: LoadedWeights) -> tuple[dict[str, torch.Tensor], RecognizerRecord]:
    """The network's tensors and record of a recognizer file (safetensors with a record, or a CRNNModule ckpt)."""
    if loaded.metadata:
        if METADATA_KEY not in loaded.metadata:
            raise CheckpointError(loaded.path, "safetensors file without an lprzoo record (was it saved by lprzoo?)")
        try:
            meta = json.loads(loaded.metadata[METADATA_KEY])
        except json.JSONDecodeError as e:
            raise CheckpointError(loaded.path, f"its lprzoo record is not valid JSON ({e.msg} at {e.pos})") from None
        if isinstance(meta, dict) and meta.get("kind") == "generator":
            raise CheckpointError(
                loaded.path, "is a CycleGAN generator, not a plate reader: use it with `lprzoo translate`"
            )
        try:
            record = RecognizerRecord.from_dict(meta)
        except (TypeError, ValueError, KeyError, AttributeError) as e:
            raise CheckpointError(loaded.path, f"its lprzoo record is malformed: {e}") from None
        state = loaded.state_dict
    else:
        if "arch" not in loaded.hparams:
            raise CheckpointError(loaded.path, "not a recognizer checkpoint (no `arch` in its hyper-parameters)")
        record = RecognizerRecord.from_hparams(loaded.hparams)
        state = {k.removeprefix("model."): v for k, v in loaded.state_dict.items() if k.startswith("model.")}
        chars = loaded.hparams.get("_charset")
        if chars is not None and chars != record.charset.chars:
            raise CheckpointError(loaded.path, "its saved charset disagrees with its extra_chars")
    if loaded.zoo is not None:
        record.name = loaded.zoo.name
    return state, record


def load_recognizer(source: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, RecognizerRecord]:
    """A ready recognizer network (eval mode, fp32) and its record, from any weights source."""
    loaded = read_weights(source)
    state, record = recognizer_state(loaded)
    try:
        net = record.build()
    except KeyError as e:
        raise CheckpointError(loaded.path, f"unknown architecture {record.arch!r} ({e.args[0]})") from None
    except (TypeError, ValueError) as e:  # arch_kwargs the architecture does not take, or cannot build
        raise CheckpointError(loaded.path, f"its record cannot build {record.arch}: {e}") from None
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    try:
        net.load_state_dict(state)
    except RuntimeError as e:
        raise CheckpointError(loaded.path, f"weights do not fit {record.arch}: {str(e).splitlines()[0]}") from None
    return net.to(device).eval(), record


def save_recognizer(
    path: str | Path,
    net: nn.Module,
    record: RecognizerRecord,
    dtype: torch.dtype = torch.float16,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``net``'s weights and ``record`` as one safetensors file (floating tensors stored as ``dtype``).

    ``extra``: more metadata, each value stored as JSON under its own key (e.g. ``adaptation``: what
    ``lprzoo adapt`` adapted on); readers of the record ignore it, :func:`read_metadata` returns it.
    """
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        k: (v.detach().to(dtype) if v.is_floating_point() else v.detach()).contiguous().cpu()
        for k, v in net.state_dict().items()
    }
    tmp = path.with_name(f".{path.name}.tmp")
    metadata = {key: json.dumps(value, ensure_ascii=False, sort_keys=True) for key, value in (extra or {}).items()}
    save_file(state, tmp, metadata={**metadata, METADATA_KEY: record.to_json()})
    tmp.replace(path)
    return path


def average(models: str = "", out: str = "") -> Path:
    """Average the weights of recognizers fine-tuned from one start (a "model soup", Wortsman et al. 2022): every
    floating tensor, batch-norm statistics included, is the mean of the ``models``' (checkpoints, weights files or
    zoo names of one architecture, alphabet and input contract); the record is the last model's.

    Args:
        models: two or more recognizers, comma-separated, e.g. the last checkpoints of two training stages begun
            from the same one.
        out: the ``.safetensors`` file to write (fp32); ``lprzoo calibrate`` then fits its confidence.
    """
    names = [m.strip() for m in models.split(",") if m.strip()]
    if len(names) < 2 or not out:
        raise LprzooError("average: give two or more comma-separated --models and --out")
    states, records = zip(*(recognizer_state(read_weights(m)) for m in names))

    def network(state: dict[str, torch.Tensor], record: RecognizerRecord) -> tuple:
        return record.arch, record.charset.chars, record.kind_head, record.input, sorted(state)

    for model, state, record in zip(names[1:], states[1:], records[1:]):
        if network(state, record) != network(states[0], records[0]):
            raise LprzooError(
                f"average: {model} is not the same network as {names[0]} (arch, alphabet, input, kind head)"
            )
    mean = {
        key: torch.stack([s[key].float() for s in states]).mean(0) if value.is_floating_point() else value
        for key, value in states[-1].items()
    }  # integer buffers (batch-norm step counts): the last model's
    net = records[-1].build()
    net.load_state_dict(mean)
    record = replace(records[-1], calibration=None)  # the mixture's confidence is not any part's: calibrate it anew
    path = save_recognizer(out, net, record, dtype=torch.float32)
    log.info("averaged %d models -> %s (calibrate it: lprzoo calibrate --model %s --out ...)", len(names), path, path)
    return path


# ---- CycleGAN generators (lprzoo.refine.generators builds the network) ---------------------------------------
def read_generator_weights(source: str | Path) -> tuple[Path, dict[str, torch.Tensor], dict[str, Any]]:
    """``(path, G's state, its shape)`` of a CycleGAN generator: a ``CycleGANModule`` checkpoint (its ``G.*``
    tensors) or a zoo generator's safetensors (metadata ``lprzoo``: ``{"kind": "generator", "ngf", "n_blocks",
    "size"}``), read as every weights file is (:func:`read_weights`, never unpickled)."""
    loaded = read_weights(source)
    if loaded.metadata:  # a zoo generator: {"lprzoo": {"kind": "generator", "ngf": .., "n_blocks": .., "size": ..}}
        meta = json.loads(loaded.metadata.get(METADATA_KEY, "{}"))
        state = loaded.state_dict
    else:
        meta = {**loaded.hparams, "size": loaded.hparams["_datamodule"].get("size")}
        state = {k[2:]: v for k, v in loaded.state_dict.items() if k.startswith("G.")}
    if not state:
        raise CheckpointError(loaded.path, "not a CycleGANModule checkpoint (no generator weights inside)")
    shape = {"kind": "generator", "ngf": int(meta.get("ngf", 64)), "n_blocks": int(meta.get("n_blocks", 6)),
             "size": list(meta.get("size") or INPUT.size)}  # fmt: skip
    return loaded.path, state, shape


def save_generator_weights(state: dict[str, torch.Tensor], shape: dict[str, Any], out: str | Path) -> Path:
    """Write a generator's tensors (fp16) and its shape (:func:`read_generator_weights`) as one safetensors file."""
    from safetensors.torch import save_file

    save_file(
        {k: v.half().contiguous() for k, v in state.items()}, str(out), metadata={METADATA_KEY: json.dumps(shape)}
    )
    return Path(out)
