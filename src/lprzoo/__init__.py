"""lprzoo: license-plate recognition where labelled real photos are scarce (render -> refine -> recognise).

Public API::

    import lprzoo
    reader = lprzoo.load("lightcrnn-1.2-adapt")   # a zoo entry, a .safetensors / .ckpt file or a hashed URL
    reader("car.jpg")                              # PlateReading(text, confidence, char_confidences, topn, valid)
    lprzoo.list_models(pretrained=True)            # zoo entries
    net = lprzoo.create_model("lightcrnn-1.2")     # a plain, randomly initialised nn.Module

``import lprzoo`` imports nothing heavy (not even torch) and ``lprzoo.load`` imports neither Lightning, OpenCV nor
jsonargparse: everything (``lprzoo.CRNNModule``, ``lprzoo.RealPlatesDataModule``, ...) is imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from lprzoo.registry import MODELS, lazy_getattr

if TYPE_CHECKING:
    from torch import nn

__version__ = "0.2.0"

# name -> module of everything imported on first use (Lightning or OpenCV behind it)
_LAZY = {
    # pure torch: the charset and the recognizer architectures (importing them registers them in MODELS)
    "Charset": "lprzoo.charset",
    "Architecture": "lprzoo.recognize.crnn",
    "LightCRNNArch": "lprzoo.recognize.crnn",
    "StandardCRNNArch": "lprzoo.recognize.crnn",
    "TimmCRNNArch": "lprzoo.recognize.crnn",
    "CRNNModule": "lprzoo.recognize.module",
    "CycleGANModule": "lprzoo.refine.cyclegan",
    "CUTModule": "lprzoo.refine.cut",
    "DCGANModule": "lprzoo.refine.dcgan",
    "BlendedDataModule": "lprzoo.data.blend",
    "GANGeneratedDataModule": "lprzoo.data.gan",
    "MixedDataModule": "lprzoo.data.mixed",
    "RealPlatesDataModule": "lprzoo.data.real",
    "ScriptDataModule": "lprzoo.data.script",
    "UnpairedPlatesDataModule": "lprzoo.data.unpaired",
    "PlateReader": "lprzoo.reader",
    "PlateReading": "lprzoo.reader",
    "load": "lprzoo.reader",
}


__getattr__ = lazy_getattr(globals(), _LAZY)  # PEP 562


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


def list_models(
    pattern: str = "*", exclude: str | None = None, pretrained: bool = False, kind: str | None = "recognizer"
) -> list[str]:
    """Names matching an fnmatch ``pattern``: registered recognizer architectures, or with ``pretrained=True`` the
    zoo's trained entries of ``kind``: ``"recognizer"`` (``lprzoo.load`` reads them), ``"generator"`` (CycleGAN
    generators for ``lprzoo translate``) or ``None`` for every entry, as ``lprzoo zoo`` lists them."""
    if pretrained:
        import fnmatch

        from lprzoo.hub import zoo_records

        names = [n for n, r in zoo_records().items() if kind in (None, r.kind) and fnmatch.fnmatch(n, pattern)]
        return sorted(n for n in names if not (exclude and fnmatch.fnmatch(n, exclude)))
    return MODELS.list(pattern, exclude)


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a registered recognizer (randomly initialised), e.g. ``create_model("lightcrnn-1.2")``."""
    return MODELS.get(name)(**kwargs)


def _import_datamodules() -> None:
    """Import every data module, so that the CLI resolves their short class names (``--data BlendedDataModule``)."""
    for module in sorted(set(_LAZY.values())):
        importlib.import_module(module)


__all__ = [
    "Architecture",
    "Charset",
    "LightCRNNArch",
    "MODELS",
    "StandardCRNNArch",
    "TimmCRNNArch",
    "create_model",
    "list_models",
    *_LAZY,
]
