"""Recognition: backbones, the CRNN and its typed architectures (pure torch), and ``CRNNModule`` (Lightning, in
:mod:`lprzoo.recognize.module`, imported only when used)."""

from lprzoo.recognize.crnn import Architecture, LightCRNNArch, StandardCRNNArch, TimmCRNNArch

__all__ = ["Architecture", "LightCRNNArch", "StandardCRNNArch", "TimmCRNNArch"]
