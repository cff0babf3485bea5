"""lprzoo: license-plate recognition where labelled real photos are scarce (render -> refine -> recognise).

Public API::

    import lprzoo
    lprzoo.list_models("lightcrnn*")         # registered recognizers
    net = lprzoo.create_model("lightcrnn-1.2")
"""

from __future__ import annotations

from typing import Any

from torch import nn

from lprzoo.charset import Charset
from lprzoo.data.gan import GANGeneratedDataModule
from lprzoo.data.mixed import MixedDataModule
from lprzoo.data.real import RealPlatesDataModule
from lprzoo.data.script import ScriptDataModule
from lprzoo.data.unpaired import UnpairedPlatesDataModule

# Importing these registers their plugins.
from lprzoo.recognize import crnn as _crnn  # noqa: F401
from lprzoo.recognize.module import CRNNModule
from lprzoo.refine import CycleGANModule, DCGANModule
from lprzoo.registry import DATAMODULES, MODELS

__version__ = "0.1.0"


def list_models(pattern: str = "*", exclude: str | None = None) -> list[str]:
    """Registered recognizer names matching an fnmatch ``pattern``, e.g. ``list_models("lightcrnn*")``."""
    return MODELS.list(pattern, exclude)


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a registered recognizer (randomly initialised), e.g. ``create_model("lightcrnn-1.2")``."""
    return MODELS.get(name)(**kwargs)


__all__ = [
    "Charset",
    "CRNNModule",
    "CycleGANModule",
    "DCGANModule",
    "GANGeneratedDataModule",
    "MixedDataModule",
    "RealPlatesDataModule",
    "ScriptDataModule",
    "UnpairedPlatesDataModule",
    "DATAMODULES",
    "MODELS",
    "create_model",
    "list_models",
]
