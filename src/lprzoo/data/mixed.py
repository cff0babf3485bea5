"""``MixedDataModule``: real labelled crops mixed with unlabelled DCGAN plates, the "all-in-one" baseline (§IV-D).

Paper §IV-D, Table VII: a DCGAN trained on real plates generates 50,000 unlabelled images; "We create a new character
class, and every character in generated license plate is assigned to this class", and the generated and real images
"are mixed and trained simultaneously" (following Zheng et al. [43]).

**The CTC target of a generated image** is ``plate_length`` (7) copies of one extra character, ``generated_char``
(``"☐"`` by default), which :class:`~lprzoo.charset.Charset` appends after the paper's 67 characters: with no other
``extra_chars`` its index is 68, so a generated image's target is ``[68, 68, 68, 68, 68, 68, 68]`` with length 7 and
the recognizer has 69 classes (68 + the blank).  CTC needs a blank between repeated labels, so a target of 7 repeats
needs at least 13 frames; LightCRNN emits 40.

The extra character must be in the recognizer's alphabet too: set ``model.init_args.extra_chars`` to this module's
``charset.extra_chars`` (``"☐"`` by default); :class:`~lprzoo.recognize.module.CRNNModule` checks that both agree
when a run starts.  If ``extra_chars`` lacks ``generated_char`` it is appended (with a warning naming the value the
model needs).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import torch
from jsonargparse import lazy_instance
from rich.progress import Progress
from torch import Tensor
from torch.utils.data import ConcatDataset, Dataset
from torchvision.transforms.v2 import functional as TF

from lprzoo.batch import INPUT
from lprzoo.data.augment import PlateAugment
from lprzoo.data.real import RealPlatesDataModule, Sources
from lprzoo.data.sources import SourceFormat
from lprzoo.errors import CheckpointError
from lprzoo.refine.dcgan import DCGANModule
from lprzoo.refine.samples import to_uint8
from lprzoo.weights import read_weights

log = logging.getLogger(__name__)

PLATE_LENGTH = 7  # a standard Chinese plate (§IV-C, Fig. 6)
GENERATED_CHAR = "☐"


class GeneratedPlates(Dataset):
    """Unlabelled DCGAN images as ``(uint8 (3, 48, 160), generated_char * plate_length, "dcgan:<i>")``.

    Args:
        images: ``uint8 (N, 3, 64, 64)`` DCGAN samples, kept at their native size (12 KB each) and resized per item.
        label: the all-in-one label of every image.
        transform: applied after the resize (train augmentation).
    """

    def __init__(self, images: Tensor, label: str, transform: Callable[[Tensor], Tensor] | None = None) -> None:
        self.images, self.label, self.transform = images, label, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[Tensor, str, str]:
        image = TF.resize(self.images[i], list(INPUT.size), antialias=True)  # (3, 64, 64) -> (3, 48, 160)
        if self.transform is not None:
            image = self.transform(image)
        return image, self.label, f"dcgan:{i}"


def generate_dcgan_plates(checkpoint: str | Path, n: int, seed: int = 0, chunk: int = 256) -> Tensor:
    """``n`` images of a ``DCGANModule`` checkpoint as ``uint8 (n, 3, 64, 64)``, on the CPU.

    Noise is drawn once from ``seed`` (§IV-D: 100-d, uniform in ``[-1, 1]``) and batch norm runs in inference mode,
    so the images do not depend on ``chunk``.
    """
    path = Path(checkpoint).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"no DCGAN checkpoint at {path}; train one with `lprzoo fit --config recipes/dcgan.yaml`"
        )
    loaded = read_weights(path)  # the one loader: never unpickled
    try:
        hparams = {k: v for k, v in loaded.hparams.items() if not k.startswith("_")}
        module = DCGANModule(**hparams)
        module.load_state_dict(loaded.state_dict)
    except (KeyError, RuntimeError, TypeError, ValueError, AttributeError) as e:
        raise CheckpointError(path, f"not a DCGANModule checkpoint ({type(e).__name__}: {str(e)[:200]})") from None
    z = module.noise(n, generator=torch.Generator().manual_seed(seed))  # (n, z_dim)
    images = torch.empty(n, 3, 64, 64, dtype=torch.uint8)
    with Progress(transient=True) as progress:
        task = progress.add_task("generating DCGAN plates", total=n)
        for start in range(0, n, chunk):
            images[start : start + chunk] = to_uint8(module.generate(z[start : start + chunk]))  # (c, 3, 64, 64)
            progress.advance(task, min(chunk, n - start))
    return images


class MixedDataModule(RealPlatesDataModule):
    """Real crops plus ``num_generated`` DCGAN plates labelled as one extra class, for training (§IV-D, Table VII).

    Validation, test and prediction use real crops only, exactly as :class:`~lprzoo.data.real.RealPlatesDataModule`.

    Args:
        train, val, test, predict: real plate sources (see :class:`~lprzoo.data.real.RealPlatesDataModule`).
        dcgan: a ``DCGANModule`` checkpoint (``lprzoo fit --config recipes/dcgan.yaml``).
        num_generated: generated images mixed into the training set (50,000 in the paper; 0 = real only).
        generated_char: the extra class given to every character of a generated image.
        plate_length: characters per generated label (7).
        val_fraction, split_seed, format, cache, skip_invalid, check_plates: as for real crops.
        augment: train-only augmentation, applied to real and generated images alike.
        seed: seed of the DCGAN noise.
        extra_chars: the alphabet's extra characters; must contain ``generated_char`` (appended if missing) and must
            equal the recognizer's ``extra_chars``.
        batch_size, num_workers: see :class:`~lprzoo.data.base.PlateDataModule`.
    """

    def __init__(
        self,
        train: Sources = None,
        val: Sources = None,
        test: Sources = None,
        predict: Sources = None,
        dcgan: str | None = None,
        num_generated: int = 50_000,
        generated_char: str = GENERATED_CHAR,
        plate_length: int = PLATE_LENGTH,
        val_fraction: float = 0.0,
        split_seed: int = 0,
        format: SourceFormat = "auto",
        augment: PlateAugment | None = lazy_instance(PlateAugment),
        cache: bool = True,
        skip_invalid: bool = False,
        check_plates: bool = True,
        seed: int = 0,
        extra_chars: str = GENERATED_CHAR,
        batch_size: int = 64,
        num_workers: int = 2,
    ) -> None:
        if len(generated_char) != 1:
            raise ValueError(f"generated_char must be one character, got {generated_char!r}")
        if generated_char not in extra_chars:
            log.warning(
                "MixedDataModule: appending the all-in-one class %r to extra_chars; set the recognizer's "
                "`extra_chars: %s` too",
                generated_char,
                extra_chars + generated_char,
            )
            extra_chars += generated_char
        super().__init__(
            train=train, val=val, test=test, predict=predict, val_fraction=val_fraction, split_seed=split_seed,
            format=format, augment=augment, cache=cache, skip_invalid=skip_invalid, check_plates=check_plates,
            extra_chars=extra_chars, batch_size=batch_size, num_workers=num_workers,
        )  # fmt: skip
        self.generated_label = generated_char * plate_length
        self.generated: GeneratedPlates | None = None

    def setup(self, stage: str) -> None:
        super().setup(stage)
        hp = self.hparams
        if stage != "fit" or not hp.num_generated:
            return
        if not hp.dcgan:
            raise ValueError(
                "MixedDataModule: set `dcgan` to a DCGANModule checkpoint (train one with "
                "`lprzoo fit --config recipes/dcgan.yaml`), or `num_generated: 0` for real crops only"
            )
        if self.generated is None:
            images = generate_dcgan_plates(hp.dcgan, hp.num_generated, hp.seed)
            self.generated = GeneratedPlates(images, self.generated_label, self.augment)
        real = self.datasets["train"]
        self.datasets["train"] = ConcatDataset([real, self.generated])
        log.info("mixed: %d real + %d DCGAN plates labelled %r", len(real), len(self.generated), self.generated_label)
