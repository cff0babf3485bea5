"""``PlateReader``: a trained recognizer as a function from images to readings (render → … → **decode**).

``lprzoo.load(name | path | url)`` returns one.  It needs neither Lightning nor OpenCV: weights come through
:mod:`lprzoo.weights` (the record says how to build the network, which charset it reads and what input it
takes), images are converted as training crops are (:mod:`lprzoo.data.images`), decoding is :mod:`lprzoo.decode`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args

import numpy as np
import torch
from torch import nn

from lprzoo.batch import INPUT
from lprzoo.calibration import least_error_rate_shown
from lprzoo.data.images import load_plate, pil_to_plate
from lprzoo.data.sources import Sample
from lprzoo.decode import (
    KIND_GRAMMAR_MIN,  # noqa: F401  (re-exported: the reader's documented threshold)
    Prediction,
    greedy_decode,
    kind_beam_search,
    plate_grammar,
    prefix_beam_search,
    text_probabilities,
)
from lprzoo.errors import InvalidSampleError, LprzooError
from lprzoo.folders import list_images
from lprzoo.kinds import PlateKind, predicted_kind
from lprzoo.weights import RecognizerRecord, load_recognizer

log = logging.getLogger(__name__)

# An int8 reader reads again in fp32 every plate it reads below CONFIRM_BELOW, or less than CONFIRM_MARGIN above its
# operating point: with them, int8 readers of lightcrnn-1.2-every-plate and -adapt-auto read every plate of real/val,
# target/dev and render-types as torch does and accept the same ones (docs/confidence.md); alone, int8 changed up to
# 9 of 1,200 readings and 8 accept decisions.
CONFIRM_BELOW = 0.9
CONFIRM_MARGIN = 0.1
# ... and every plate it reads less than REREAD_MARGIN above the confidence under which the reader reads a plate again
# (``reread_below``), where rounding could decide whether it is read again: at 0.05 no plate of real/val or of 600
# renders of other seeds than render-types read >= 0.95 in int8 and < 0.9 in fp32 (0.02 left one of the renders).
REREAD_MARGIN = 0.05

ImageLike = Union[str, Path, "Image.Image", np.ndarray, torch.Tensor]  # noqa: F821


@dataclass
class PlateReading:
    """One plate read.

    Attributes:
        text: the best reading (beam search top-1; greedy best path when ``beam_width`` is 1).
        confidence: the reading's probability in ``[0, 1]``.
        char_confidences: per character, its highest frame probability (empty when beam and greedy disagree).
        topn: ``[(text, probability), ...]``, best first.
        valid: whether ``text`` fits a plate grammar (``spec`` names which: blue, yellow, green, ...): of the
            predicted ``kind``'s specs when the model has a kind head, else of any spec.
        source: the file name, or ``"<array>"`` / ``"<tensor>"`` / ``"<PIL>"``.
        raw_confidence: ``text``'s probability before calibration (equal to ``confidence`` without one).
        accepted: whether ``confidence`` (times ``agreement`` for a reader with views) reaches the reader's operating
            point (``lprzoo.load(..., min_precision=0.99)`` or the record's calibrated threshold); ``None`` when the
            reader has no operating point.
        agreement: the share of the reader's views (small shifts, scalings, rotations of the plate) that read the
            same text; ``None`` for a reader without views.
        kind: the plate's kind as the model's kind head says it (``"blue"``, ``"yellow-double"``, ...,
            :class:`lprzoo.kinds.PlateKind`); ``None`` for a model without one.
        colour: the kind's colour (``"blue"``, ``"yellow"``, ``"green"``, ``"white"``, ``"black"``).
        kind_confidence: the kind head's probability of that colour and rows.
        rows: how the plate was read: ``"single"``, or ``"double"`` (its rows side by side, the input contract's
            ``"rows"`` layout).
    """

    text: str
    confidence: float
    char_confidences: list[float] = field(default_factory=list)
    topn: list[tuple[str, float]] = field(default_factory=list)
    valid: bool = False
    spec: str | None = None
    source: str = ""
    raw_confidence: float | None = None
    accepted: bool | None = None
    agreement: float | None = None
    kind: str | None = None
    colour: str | None = None
    kind_confidence: float | None = None
    rows: str = "single"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def plate_tensor(
    image: ImageLike, height: int, width: int, rows: str = "single", layout: str = INPUT.layout
) -> tuple[torch.Tensor, str]:
    """Any supported image -> ``uint8 (3, height, width)`` and a name for it; a ``"double"``-row plate with its rows
    side by side under the contract's ``layout`` (:mod:`lprzoo.layout`)."""
    from PIL import Image

    if isinstance(image, (str, Path)):
        path = Path(image).expanduser()
        if not path.is_file():
            raise LprzooError(f"{path}: no such image file")
        return load_plate(Sample(str(path)), height, width, rows, layout), str(path)
    if isinstance(image, Image.Image):
        return pil_to_plate(image, height, width, rows, layout), "<PIL>"
    if isinstance(image, np.ndarray):
        if image.size == 0:
            raise LprzooError(f"an empty image ({image.shape}) holds no plate")
        if image.dtype != np.uint8 or not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3, 4))):
            raise LprzooError(f"a numpy image must be HWC uint8 (1, 3 or 4 channels), got {image.shape} {image.dtype}")
        if image.ndim == 3 and image.shape[2] == 1:
            image = image[:, :, 0]
        return pil_to_plate(Image.fromarray(np.ascontiguousarray(image)), height, width, rows, layout), "<array>"
    if isinstance(image, torch.Tensor):
        x = image.detach().cpu()
        if x.ndim != 3 or x.shape[0] not in (1, 3):
            raise LprzooError(f"a tensor image must be (3, H, W) or (1, H, W), got {tuple(x.shape)}")
        if x.numel() == 0:
            raise LprzooError(f"an empty image ({tuple(x.shape)}) holds no plate")
        if x.is_floating_point() and not torch.isfinite(x).all():
            raise LprzooError("a tensor image holds NaN or infinite values")
        x = x.expand(3, -1, -1) if x.shape[0] == 1 else x
        x = x.float()  # (C, H, W)
        if image.dtype != torch.uint8:  # [0, 1], or 0-255 when any value is over 1: read as such, not clamped to 1
            x = x.clamp(0, 255) if x.max() > 1.0 + 1e-3 else x.clamp(0, 1) * 255
        if rows == "double":
            whole = x.round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()  # (H, W, 3)
            return pil_to_plate(Image.fromarray(np.ascontiguousarray(whole)), height, width, rows, layout), "<tensor>"
        x = torch.nn.functional.interpolate(x[None], (height, width), mode="bilinear", antialias=True)[0]
        return x.round().clamp(0, 255).to(torch.uint8), "<tensor>"
    raise LprzooError(
        f"cannot read a plate from {type(image).__name__}; give a path, PIL image, HWC uint8 array or tensor"
    )


def image_aspect(image: ImageLike) -> float:
    """Width / height of an image as it will be read (upright), from a file's header without decoding it."""
    from PIL import Image

    from lprzoo.data.images import upright_size

    if isinstance(image, (str, Path)):
        try:
            w, h = upright_size(str(Path(image).expanduser()))
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            return float("inf")  # unreadable: plate_tensor names the problem
    elif isinstance(image, Image.Image):
        w, h = image.size
    elif isinstance(image, np.ndarray) and image.ndim >= 2:
        h, w = image.shape[:2]
    elif isinstance(image, torch.Tensor) and image.ndim == 3:
        h, w = image.shape[1:]
    else:
        return float("inf")
    return w / h if h else float("inf")


def _expand(images: ImageLike | Sequence[ImageLike]) -> tuple[list[ImageLike], bool]:
    """A single image, a folder, or a list -> a flat list, and whether a single image was given."""
    if isinstance(images, (str, Path)) and Path(images).expanduser().is_dir():
        return list_images(Path(images).expanduser()), False  # names the files it does not read
    if isinstance(images, torch.Tensor) and images.ndim == 4:
        return list(images), False
    if isinstance(images, (list, tuple)):
        return list(images), False
    return [images], True


class PlateReader:
    """Reads plates with a trained recognizer: ``reader(images) -> PlateReading | list[PlateReading]``.

    Args:
        net: the recognizer network, ``(B, 3, H, W)`` in ``[0, 1]`` -> logits ``(B, T, K)``.
        record: its :class:`~lprzoo.weights.RecognizerRecord` (charset, input contract, decoding defaults).
        device: where the network runs.
        beam_width: prefix beam width (1: greedy); default the record's.
        top_n: readings returned per plate; default the record's.
        batch_size: images per forward pass.
        threshold: accept readings whose confidence reaches it (``PlateReading.accepted``); default the record's
            calibrated operating point, if any.
        grammar: beam search keeps to plates, so the top-N alternatives are plates of some spec (``False``: the
            unconstrained beam, whose top reading a caller checks itself, as ``lprzoo pseudo-label`` does).
        views: read each plate again under this many of :data:`lprzoo.calibration.VIEWS` and accept by confidence x
            agreement (``PlateReading.agreement``); default the record's calibration's.  Each view is one more network
            pass; the threshold must then come from a calibration fitted with as many views.
        confirm: a second network for the same record (an int8 reader's fp32 export) that reads again every plate
            whose reading is below ``confirm_below``, less than :data:`CONFIRM_MARGIN` above ``threshold`` or less
            than :data:`REREAD_MARGIN` above ``reread_below``: the doubtful plates, whose reading, accept decision or
            reading again a rounded network may change, get the exact network's; the confident ones keep the fast
            one's.
        confirm_below: the confidence under which ``confirm`` reads a plate again.
        reread_below: read every plate whose reading is below this calibrated confidence again under each of
            :data:`lprzoo.calibration.VIEWS` and keep the text of highest mean probability over the views, with that
            mean as its confidence (0: never); default the record's calibration's
            (:data:`lprzoo.calibration.REREAD_BELOW` for new calibrations).
    """

    def __init__(
        self,
        net: nn.Module,
        record: RecognizerRecord,
        device: str | torch.device = "cpu",
        beam_width: int | None = None,
        top_n: int | None = None,
        batch_size: int = 64,
        threshold: float | None = None,
        grammar: bool = True,
        views: int | None = None,
        confirm: nn.Module | None = None,
        confirm_below: float = CONFIRM_BELOW,
        reread_below: float | None = None,
    ) -> None:
        from lprzoo.calibration import VIEWS

        if views is not None and not 0 <= views <= len(VIEWS):
            raise LprzooError(f"views must lie in [0, {len(VIEWS)}], got {views}")
        for name, value in (("beam_width", beam_width), ("top_n", top_n), ("batch_size", batch_size)):
            if value is not None and value < 1:
                raise LprzooError(f"{name} must be at least 1, got {value}")
        self.device = torch.device(device)
        self.net = net.to(self.device).eval()
        self.confirm = None if confirm is None else confirm.to(self.device).eval()
        self.record = record
        self.charset = record.charset
        self.beam_width = record.beam_width if beam_width is None else beam_width
        self.top_n = record.top_n if top_n is None else top_n
        self.batch_size = batch_size
        self.grammar = plate_grammar() if grammar else None
        calibration = record.calibration
        self.temperature = calibration.temperature if calibration is not None else 1.0
        if threshold is None and calibration is not None and calibration.threshold > 0:
            threshold = calibration.threshold
        self.threshold = threshold
        self.views = (calibration.views if calibration is not None else 0) if views is None else views
        if reread_below is None:
            reread_below = calibration.reread_below if calibration is not None else 0.0
        self.reread_below = reread_below
        near_threshold = 0.0 if threshold is None else threshold + CONFIRM_MARGIN
        near_reread = reread_below + REREAD_MARGIN if reread_below > 0 else 0.0
        self.confirm_below = max(confirm_below, near_threshold, near_reread)
        if threshold is not None and calibration is not None and self.views != calibration.views:
            fitted, used = calibration.views, self.views
            log.warning("the operating point was fitted with %d views and this reader uses %d: its precision is "
                        "not the one asked; run lprzoo calibrate --views %d", fitted, used, used)  # fmt: skip

    def __repr__(self) -> str:
        name = self.record.name or self.record.arch
        return f"PlateReader({name!r}, {self.charset!r}, beam_width={self.beam_width}, device={str(self.device)!r})"

    @torch.inference_mode()
    def logits(self, plates: torch.Tensor) -> torch.Tensor:
        """``uint8 (B, 3, H, W)`` plates -> the network's raw scores ``(B, T, K)`` on the CPU (no calibration)."""
        return self.logits_and_kind(plates)[0]

    @torch.inference_mode()
    def logits_and_kind(self, plates: torch.Tensor, net: nn.Module | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``uint8 (B, 3, H, W)`` -> raw scores ``(B, T, K)`` and kind logits ``(B, colours + rows)`` (``(B, 0)``
        for a model without a kind head), on the CPU, by the reader's network (or ``net``)."""
        net = self.net if net is None else net
        x = plates.to(self.device).float().div_(255.0)  # (B, 3, H, W) in [0, 1]
        if not self.record.kind_head:
            return net(x).float().cpu(), torch.zeros(len(x), 0)
        logits, kind = net(x, with_kind=True)
        return logits.float().cpu(), kind.float().cpu()

    def log_probs(self, plates: torch.Tensor) -> torch.Tensor:
        """``uint8 (B, 3, H, W)`` plates -> calibrated log-probabilities ``(B, T, K)`` (the record's temperature)."""
        return (self.logits(plates) / self.temperature).log_softmax(-1)  # (B, T, K)

    @staticmethod
    def moved(plates: torch.Tensor, view: dict[str, Any]) -> torch.Tensor:
        """``uint8 (B, 3, H, W)`` plates under one of :data:`lprzoo.calibration.VIEWS` (torchvision ``affine``)."""
        import torchvision.transforms.v2.functional as F

        return F.affine(plates, **{"angle": 0.0, "translate": [0, 0], "scale": 1.0, "shear": [0.0, 0.0], **view},
                        interpolation=F.InterpolationMode.BILINEAR, fill=[127])  # fmt: skip

    def agreement(self, plates: torch.Tensor, texts: Sequence[str]) -> list[float]:
        """For ``uint8 (B, 3, H, W)`` plates read as ``texts``: the share of the reader's views that read the same."""
        from lprzoo.calibration import VIEWS

        votes = np.zeros(len(texts))
        for view in VIEWS[: self.views]:
            seen = [p.text for p in self.decode(self.log_probs(self.moved(plates, view)), top_n=1)]  # the reading only
            votes += np.array([a == b for a, b in zip(seen, texts)])
        return (votes / max(self.views, 1)).tolist()

    def read_plates(self, plates: torch.Tensor) -> list[Prediction]:
        """``uint8 (B, 3, H, W)`` plates already at the contract's size and layout -> the reader's readings: the
        calibrated beam top-N, the doubtful plates read again (:meth:`reread`).  ``lprzoo predict`` / ``lprzoo test``
        of a calibrated model and ``lprzoo calibrate`` read through it, as :meth:`read_batches` reads files."""
        logits, kind_logits = self.logits_and_kind(plates)
        log_probs = (logits / self.temperature).log_softmax(-1)  # (B, T, K)
        return self.reread(plates, log_probs, kind_logits, self.decode(log_probs, kind_logits=kind_logits))

    def reread(
        self,
        plates: torch.Tensor,
        log_probs: torch.Tensor,
        kind_logits: torch.Tensor,
        predictions: list[Prediction],
        net: nn.Module | None = None,
    ) -> list[Prediction]:
        """The ``predictions`` of ``uint8 (B, 3, H, W)`` plates (read from ``log_probs`` ``(B, T, K)``, calibrated),
        those below :attr:`reread_below` read again under every view of :data:`lprzoo.calibration.VIEWS` (by
        ``net``, default the reader's): their texts and the views' top-N are scored by their mean probability over
        the unmoved plate and the views, the best kept with that mean as its confidence (test-time augmentation on
        the doubtful plates only; the views are decoded within the unmoved plate's kind)."""
        from lprzoo.calibration import VIEWS

        doubtful = [i for i, p in enumerate(predictions) if p.confidence < self.reread_below]
        if not doubtful:
            return predictions
        kinds = kind_logits[doubtful]
        views = [log_probs[doubtful]]  # (D, T, K) each: the unmoved plate, then every view
        for view in VIEWS:
            logits, _ = self.logits_and_kind(self.moved(plates[doubtful], view), net)
            views.append((logits / self.temperature).log_softmax(-1))
        candidates = [list(dict.fromkeys(t for p in per_plate for t, _ in p.topn or [(p.text, 0.0)]))
                      for per_plate in zip(*(self.decode(v, kind_logits=kinds) for v in views))]  # fmt: skip
        owner = [j for j, texts in enumerate(candidates) for _ in texts]  # (C,): the doubtful plate of each candidate
        texts = [t for texts in candidates for t in texts]
        scores = np.mean([text_probabilities(v[owner], texts, self.charset) for v in views], axis=0)  # (C,)
        out, start = list(predictions), 0
        for j, i in enumerate(doubtful):
            mine = scores[start : start + len(candidates[j])]
            order = np.argsort(-mine, kind="stable")
            ranked = [(candidates[j][k], float(mine[k])) for k in order]
            text, confidence = ranked[0]
            same = text == predictions[i].text
            out[i] = Prediction(text, confidence, predictions[i].char_confidences if same else [], ranked[: self.top_n])
            start += len(candidates[j])
        return out

    def decode(
        self,
        log_probs: torch.Tensor,
        top_n: int | None = None,
        kind_logits: torch.Tensor | None = None,
        beam_width: int | None = None,
    ) -> list[Prediction]:
        """Readings of ``(B, T, K)`` log-probabilities, with the reader's top-N (or ``top_n``) alternatives.

        With ``kind_logits`` ``(B, colours + rows)`` of a kind head, a plate whose kind the head gives at least
        :data:`KIND_GRAMMAR_MIN` is read within its kind's specs (a blue plate's alternatives are blue plates, never
        an 8-character green one); the others within every spec."""
        width = self.beam_width if beam_width is None else beam_width
        if width <= 1:
            return greedy_decode(log_probs, self.charset)
        n = self.top_n if top_n is None else top_n
        if self.grammar is None or kind_logits is None or kind_logits.shape[1] == 0:
            return prefix_beam_search(log_probs, self.charset, width, n, grammar=self.grammar)
        return kind_beam_search(log_probs, self.charset, width, n, kind_logits, self.grammar)

    def read_batches(
        self, images: Iterable[ImageLike], skipped: list[InvalidSampleError] | None = None
    ) -> Iterable[PlateReading]:
        """Stream readings batch by batch (flat memory over any number of images).

        Under the ``"rows"`` and ``"rows-tight"`` layouts a crop narrower than the contract's ``double_row_aspect``
        is also read with its rows side by side (:mod:`lprzoo.layout`), and the more confident reading is kept.
        A file that is not a readable image stops the stream, or, given a ``skipped`` list, is added to it instead.
        """
        contract = self.record.input
        batch: list[tuple[torch.Tensor, str, torch.Tensor | None]] = []

        def flush() -> list[PlateReading]:
            singles = [t for t, _, _ in batch]
            doubles = [d for _, _, d in batch if d is not None]
            plates = torch.stack(singles + doubles)  # (B + D, 3, H, W) uint8
            logits, kind_logits = self.logits_and_kind(plates)  # (B + D, T, K), (B + D, colours + rows)
            log_probs = (logits / self.temperature).log_softmax(-1)  # (B + D, T, K), calibrated
            predictions = self.decode(log_probs, kind_logits=kind_logits)
            if self.confirm is not None:  # the doubtful plates are read again by the exact network
                doubtful = [i for i, p in enumerate(predictions) if p.confidence < self.confirm_below]
                if doubtful:
                    # inference tensors: no in-place writes
                    logits, kind_logits, log_probs = logits.clone(), kind_logits.clone(), log_probs.clone()
                    logits[doubtful], kind_logits[doubtful] = self.logits_and_kind(plates[doubtful], self.confirm)
                    log_probs[doubtful] = (logits[doubtful] / self.temperature).log_softmax(-1)
                    for i, p in zip(doubtful, self.decode(log_probs[doubtful], kind_logits=kind_logits[doubtful])):
                        predictions[i] = p
            # the plates still doubtful read again under small moves, by the exact network
            predictions = self.reread(plates, log_probs, kind_logits, predictions, self.confirm)
            chosen, d = list(range(len(batch))), len(batch)
            for i, (_, _, double) in enumerate(batch):
                if double is not None:
                    if predictions[d].confidence > predictions[i].confidence:
                        chosen[i] = d
                    d += 1
            predictions = [predictions[k] for k in chosen]
            logits, kind_logits, plates = logits[chosen], kind_logits[chosen], plates[chosen]
            raw = [p.confidence for p in predictions]
            if self.temperature != 1.0:  # the same readings' probabilities before calibration
                raw = text_probabilities(logits.log_softmax(-1), [p.text for p in predictions], self.charset)
            agreement: list[float | None] = [None] * len(predictions)
            if self.views:
                agreement = self.agreement(plates, [p.text for p in predictions])
            out = []
            for k, ((_, name, _), p, r, agree) in enumerate(zip(batch, predictions, raw, agreement)):
                kind, kind_p = self.kind_of(kind_logits[k])
                spec = self._spec(p.text, kind)
                score = p.confidence * (1.0 if agree is None else agree)
                accepted = None if self.threshold is None else score >= self.threshold
                out.append(PlateReading(
                    p.text, p.confidence, p.char_confidences, p.topn, spec is not None, spec, name, r, accepted, agree,
                    None if kind is None else str(kind), None if kind is None else kind.colour, kind_p,
                    "double" if chosen[k] >= len(batch) else "single",
                ))  # fmt: skip
            batch.clear()
            return out

        for image in images:
            try:
                plate, name = plate_tensor(image, contract.height, contract.width)
                double = None
                if contract.splits_rows and image_aspect(image) < contract.double_row_aspect:
                    double = plate_tensor(image, contract.height, contract.width, "double", contract.layout)[0]
            except InvalidSampleError as error:
                if skipped is None:
                    raise
                skipped.append(error)
                continue
            batch.append((plate, name, double))
            if len(batch) == self.batch_size:
                yield from flush()
        if batch:
            yield from flush()

    @staticmethod
    def kind_of(kind_logits: torch.Tensor) -> tuple[PlateKind | None, float | None]:
        """The kind head's ``(colours + rows,)`` logits -> its most probable kind and that kind's probability."""
        return predicted_kind(kind_logits)

    @staticmethod
    def _spec(text: str, kind: PlateKind | None) -> str | None:
        """The plate spec ``text`` fits among those of ``kind`` (any spec for a model without a kind head)."""
        from lprzoo.render.rules import plate_spec_of, specs_of_kind

        return plate_spec_of(text, None if kind is None else specs_of_kind(kind.colour, kind.rows))

    def write(
        self, images: ImageLike | Sequence[ImageLike], output: str | Path, skip_invalid: bool = False
    ) -> tuple[Path, Path | None]:
        """Read ``images`` (a folder, a list, ...) into ``output`` (``.csv`` / ``.jsonl``, :mod:`lprzoo.readings`);
        readings that are not ``accepted`` go, with their top-N, to the review file ``<stem>.review<suffix>``
        beside it.  Returns both paths (the review file is ``None`` when the reader has no operating point).

        A file that is not a readable image (a truncated upload, a stray document) stops the run with its name; with
        ``skip_invalid`` the run goes on, and each such file is a row with no text and confidence 0 in the review
        file (in ``output`` when there is none), for a person to look at.  A terminal shows a progress bar.
        """
        from rich.progress import Progress

        from lprzoo.readings import ReadingsFile, reading_row, review_path

        target = Path(output)
        files = {True: ReadingsFile(target)}
        if self.threshold is not None:
            files[False] = ReadingsFile(review_path(target))
        rows: dict[bool, list] = {True: [], False: []}
        skipped: list[InvalidSampleError] | None = [] if skip_invalid else None
        items = _expand(images)[0]
        try:
            with Progress(transient=True) as progress:  # drawn in a terminal only, as lprzoo pseudo-label's
                task = progress.add_task(f"reading {len(items)} images", total=len(items))
                for reading in self.read_batches(items, skipped):
                    progress.advance(task)
                    row = reading_row(
                        reading.source, reading.text, reading.confidence, reading.char_confidences, reading.topn
                    )
                    rows[reading.accepted is not False].append(row)
                    if len(rows[True]) + len(rows[False]) >= self.batch_size:  # a write per batch, not per plate
                        for accepted, file in files.items():
                            file.append(rows[accepted])
                            rows[accepted] = []
                progress.advance(task, len(skipped or []))
        except InvalidSampleError as error:
            hint = "write(..., skip_invalid=True) reads on and lists such files for review"
            raise InvalidSampleError(error.path, f"{error.reason} ({hint})") from None
        if skipped:
            review = False in files
            rows[not review] += [reading_row(error.path, "", 0.0, [], []) for error in skipped]
            where = files[not review].path
            log.warning(
                "%d files are not readable images, listed with no text in %s (e.g. %s)", len(skipped), where, skipped[0]
            )
        for accepted, file in files.items():
            file.append(rows[accepted])
        return files[True].commit(), files[False].commit() if False in files else None

    def __call__(self, images: ImageLike | Sequence[ImageLike]) -> PlateReading | list[PlateReading]:
        """Read one image (-> one reading) or a list / folder / ``(B, 3, H, W)`` tensor (-> a list)."""
        items, single = _expand(images)
        readings = list(self.read_batches(items))
        return readings[0] if single else readings


Runtime = Literal["torch", "onnx", "onnx-int8", "onnx-int8-lstm-fp32"]


def _onnx_file(source: str | Path, runtime: Runtime) -> Path:
    """The ONNX export of ``source`` for ``runtime``, made once and kept in the user cache.

    The cache entry is keyed by the source's sha256 (not its name) and carries the export's own sha256 beside it
    (``.sha256``); an entry whose file no longer matches is exported again, never served.  Threads and processes
    making the same entry take turns (:func:`lprzoo.folders.exclusive`), and :func:`lprzoo.export.export` writes
    through a temporary file, so a killed export leaves no entry behind.
    """
    from lprzoo.export import EXPORT_FORMAT, export
    from lprzoo.folders import atomic_write_text, exclusive
    from lprzoo.hub import cache_dir, sha256_file, source_sha256, verified

    target = cache_dir() / "onnx" / f"{source_sha256(source)[:16]}-{runtime}-v{EXPORT_FORMAT}.onnx"
    stamp = target.with_name(target.name + ".sha256")
    with exclusive(target.with_name(target.name + ".lock")):
        if target.is_file() and stamp.is_file() and verified(target, stamp.read_text().strip()):
            from lprzoo.export import read_onnx_record

            if read_onnx_record(target)[1].get("source_sha256") == source_sha256(source):  # not another model's
                return target
        if target.is_file():
            log.warning("%s: cached export does not match its recorded sha256; exporting again", target)
        lstm = "dynamic" if runtime == "onnx-int8" else "fp32"
        export(str(source), str(target), int8=runtime.startswith("onnx-int8"), lstm=lstm, check=None)
        atomic_write_text(stamp, sha256_file(target) + "\n")
    return target


def load(
    source: str | Path,
    device: str | torch.device = "cpu",
    beam_width: int | None = None,
    top_n: int | None = None,
    batch_size: int = 64,
    runtime: Runtime = "torch",
    threads: int | None = None,
    min_precision: float | None = None,
    grammar: bool = True,
    views: int | None = None,
    confirm_below: float = CONFIRM_BELOW,
    reread_below: float | None = None,
) -> PlateReader:
    """A ready :class:`PlateReader` from a zoo name, a weights file (``.safetensors`` / ``.ckpt`` / ``.onnx``) or a
    hashed URL.

    Args:
        runtime: ``torch``; ``onnx`` (fp32); ``onnx-int8`` (convolutions and linear layers static int8, LSTMs
            dynamic int8: ``lprzoo benchmark`` measured it the fastest at the same RA, docs/benchmarks.md) or
            ``onnx-int8-lstm-fp32`` (LSTMs kept fp32) run the same model in ONNX Runtime (exported once, cached).
        threads: ONNX Runtime intra-op threads (default: its own choice).
        min_precision: accept readings (``PlateReading.accepted``) at the lowest confidence threshold that kept this
            precision on the record's calibration plates (``lprzoo calibrate``); default the record's threshold.
        grammar: top-N readings are plates (a grammar-constrained beam); ``False`` for the unconstrained beam.
        views: read each plate under this many small moves too and accept by confidence x agreement (default: the
            record's calibration's, 0 without one); each is one more network pass.
        confirm_below: an int8 runtime reads again with the fp32 export every plate it reads below this confidence
            or near its operating point (:data:`CONFIRM_BELOW`, :data:`CONFIRM_MARGIN`; 0: never), so its
            readings and accept decisions are torch's.
        reread_below: read the plates below this confidence again under small moves and keep the text the moves
            find most probable (default: the record's calibration's, 0 without one; 0: never).

    Example::

        reader = lprzoo.load("lightcrnn-1.2-adapt")
        reader("car.jpg").text
    """
    if runtime not in get_args(Runtime):  # a typo must not run another runtime under its name
        raise LprzooError(f"unknown runtime {runtime!r}; use {', '.join(get_args(Runtime))}")
    if str(source).endswith(".onnx") or runtime != "torch":
        from lprzoo.export import OnnxNet, read_onnx_record

        path = Path(source) if str(source).endswith(".onnx") else _onnx_file(source, runtime)
        record, _ = read_onnx_record(path)
        threshold = _threshold(record, min_precision, source)
        net = OnnxNet(path, threads)
        confirm = None
        if runtime.startswith("onnx-int8") and confirm_below > 0 and not str(source).endswith(".onnx"):
            confirm = OnnxNet(_onnx_file(source, "onnx"), threads)  # the same model in fp32
        device = "cpu"
    else:
        net, record = load_recognizer(source, device)
        threshold, confirm = _threshold(record, min_precision, source), None
    return PlateReader(
        net, record, device, beam_width, top_n, batch_size, threshold, grammar, views, confirm, confirm_below,
        reread_below,
    )  # fmt: skip


def _threshold(record: RecognizerRecord, min_precision: float | None, source: str | Path) -> float | None:
    if min_precision is None:
        return None
    if not 0 < min_precision <= 1:
        raise LprzooError(f"min_precision must lie in (0, 1], got {min_precision}")
    if record.calibration is None or not record.calibration.curve:
        raise LprzooError(
            f"{source}: has no calibration to choose a threshold from; run `lprzoo calibrate --model {source} "
            "--data <labelled crops> --out <file>.safetensors`"
        )
    plates = record.calibration.plates
    if 1 - min_precision < least_error_rate_shown(plates):
        log.warning(
            "min_precision %g cannot be shown on the %d calibration plates of %s (with no error among all of them "
            "the error rate is only known to be below %.2f %%); the threshold keeps it on them, calibrate on more "
            "plates to rely on it", min_precision, plates, source, 100 * least_error_rate_shown(plates),
        )  # fmt: skip
    return record.calibration.threshold_for(min_precision)
