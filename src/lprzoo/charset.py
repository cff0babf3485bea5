"""The plate alphabet, CTC encoding and decoding (paper §III-B: 68 classes).

The default alphabet is the paper's: 31 province abbreviations, 26 letters, 10 digits and the CTC blank.
Index 0 is the blank (PyTorch's ``nn.CTCLoss`` default); the paper draws it last in its confidence maps, which
:func:`lprzoo.viz.confidence_map` reproduces by reordering rows, not by changing indices.

Alphabets are extended by configuration (``extra_chars=SPECIAL``, the special plates' characters), appended after
the default characters, so a 68-class checkpoint's indices stay valid inside an extended alphabet's first 68 rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from lprzoo.errors import CharsetMismatchError, UnknownCharacterError

if TYPE_CHECKING:
    import torch

PROVINCES = "京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵云藏陕甘青宁新"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
SPECIAL = "警学挂港澳使领应急"  # police, learner, trailer, HK, Macau, embassy, consulate, emergency
BLANK = 0

assert len(PROVINCES) == 31 and len(set(PROVINCES)) == 31


class Charset:
    """An ordered alphabet with the CTC blank at index 0.

    Args:
        extra_chars: characters appended to the paper's 67 (e.g. :data:`SPECIAL` for every special plate).
    """

    def __init__(self, extra_chars: str = "") -> None:
        base = PROVINCES + LETTERS + DIGITS
        dupes = sorted({c for c in extra_chars if c in base} | {c for c in extra_chars if extra_chars.count(c) > 1})
        if dupes:
            raise ValueError(f"extra_chars repeats characters already in the alphabet: {''.join(dupes)!r}")
        self.extra_chars = extra_chars
        self.chars = base + extra_chars
        self._index = {c: i + 1 for i, c in enumerate(self.chars)}

    @property
    def num_classes(self) -> int:
        """Characters plus the CTC blank (68 for the default alphabet)."""
        return len(self.chars) + 1

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Charset) and other.chars == self.chars

    def __hash__(self) -> int:
        return hash(self.chars)

    def __repr__(self) -> str:
        return f"Charset(num_classes={self.num_classes}, extra_chars={self.extra_chars!r})"

    def unknown(self, text: str) -> str:
        """The characters of ``text`` outside this alphabet, in order, without repeats."""
        return "".join(dict.fromkeys(c for c in text if c not in self._index))

    def encode(self, text: str) -> list[int]:
        """Label string -> class indices (1-based; 0 is the blank)."""
        bad = self.unknown(text)
        if bad:
            raise UnknownCharacterError(f"label {text!r} has characters outside the charset: {bad!r}")
        return [self._index[c] for c in text]

    def encode_batch(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Labels -> (targets (B, L_max) padded with blank, target_lengths (B,)) for ``nn.CTCLoss``."""
        import torch  # here, not at the top: `import lprzoo.charset` stays light for the CLI's --help

        encoded = [self.encode(t) for t in texts]
        lengths = torch.tensor([len(e) for e in encoded], dtype=torch.long)
        targets = torch.zeros(len(encoded), max([1, *map(len, encoded)]), dtype=torch.long)
        for row, e in enumerate(encoded):
            targets[row, : len(e)] = torch.tensor(e, dtype=torch.long)
        return targets, lengths

    def decode(self, indices: Sequence[int]) -> str:
        """Class indices of a *collapsed* label (no blanks) -> string."""
        return "".join(self.chars[i - 1] for i in indices if i != BLANK)

    def check_compatible(self, other: Charset, what: str) -> None:
        """Raise :class:`CharsetMismatchError` unless ``other`` is the same alphabet."""
        if other != self:
            raise CharsetMismatchError(
                f"{what} uses {other!r} but the model uses {self!r}; "
                f"characters differ by {set(self.chars) ^ set(other.chars)!r}. "
                "Set the same `extra_chars` on the model and the data."
            )
