"""One error hierarchy: every problem a user can fix is an :class:`LprzooError`.

The CLI catches :class:`LprzooError` as a whole and prints its message on one line with exit code 2; anything
else is a bug and keeps its traceback.  The subclasses also derive from the built-in a caller would expect
(``ValueError``, ``FileNotFoundError``), so ``except ValueError`` keeps working.
"""

from __future__ import annotations

from pathlib import Path


class LprzooError(Exception):
    """Base of every user-fixable lprzoo error."""


class BadValueError(LprzooError, ValueError):
    """A setting outside its range, e.g. ``--data.batch_size 0``."""


def check_range(name: str, value: float, low: float | None = None, high: float | None = None) -> None:
    """Raise :class:`BadValueError` naming ``name`` when ``value`` lies outside ``[low, high]`` (either may be open:
    ``None``)."""
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"at least {low}" if high is None else f"at most {high}" if low is None else f"in [{low}, {high}]"
        raise BadValueError(f"{name} must be {bounds}, got {value}")


class InvalidSampleError(LprzooError, ValueError):
    """A data file that cannot be used, with the file and the reason.

    ``InvalidSampleError(message)`` with one argument is how PyTorch re-raises it from a DataLoader worker; the CLI
    then prints the message's last line, ``...InvalidSampleError: <file>: <reason>``.
    """

    def __init__(self, path: str | Path, reason: str | None = None) -> None:
        super().__init__(f"{path}: {reason}" if reason is not None else str(path))
        self.path = str(path)
        self.reason = reason or ""


class CheckpointError(LprzooError, ValueError):
    """A weights file (checkpoint, safetensors, zoo download) that cannot be used, with the file and the reason."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


class MissingInputError(LprzooError, FileNotFoundError):
    """An input that does not exist yet; the message names the command that produces it."""


class CharsetMismatchError(LprzooError, ValueError):
    """A model, checkpoint or dataset disagree on the alphabet."""


class UnknownCharacterError(LprzooError, ValueError):
    """A label holds a character the alphabet does not know."""
