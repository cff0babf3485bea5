"""Plate specifications as plain data (paper §IV-C: "following the fonts, colors and composition rules").

A :class:`PlateSpec` says everything the renderer and the plate grammar need about one kind of plate: its size,
colours, character cells, separator, border, rivets and the label patterns it may carry. Geometry follows
GA 36-2018 (the Chinese motor-vehicle plate standard): a 440 x 140 mm plate with 45 x 90 mm character cells,
12 mm between characters and a 34 mm gap holding a 10 mm separator dot after the second character.

A new region or plate type is a new :class:`PlateSpec` passed to :func:`register_spec`, never new code::

    register_spec(dataclasses.replace(SPECS.get("blue"), name="blue-dark", background=((10, 40, 140),)))

Patterns are written in a small regex subset (``[...]`` classes with ranges, literal characters and ``{n}``
repeats) so that each is also a valid Python regex; :mod:`lprzoo.render.rules` compiles them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from lprzoo.charset import PROVINCES
from lprzoo.kinds import COLOURS, PlateKind
from lprzoo.registry import Registry

RGB = tuple[int, int, int]

# Label character classes (GA 36-2018: I and O are never used, to avoid confusion with 1 and 0).
PROVINCE = f"[{PROVINCES}]"
LETTER = "[A-HJ-NP-Z]"
DIGIT = "[0-9]"
ALNUM = "[A-HJ-NP-Z0-9]"


@dataclass(frozen=True)
class Row:
    """One row of character cells, in millimetres from the plate's top-left corner.

    Attributes:
        top: y of the cells' top edge.
        height: cell height.
        widths: width of each cell, left to right.
        gaps: space between consecutive cells (``len(widths) - 1`` values); a gap holding the separator is wider.
        left: x of the first cell; ``None`` centres the row on the plate.
    """

    top: float
    height: float
    widths: tuple[float, ...]
    gaps: tuple[float, ...]
    left: float | None = None

    def __post_init__(self) -> None:
        if len(self.gaps) != len(self.widths) - 1:
            raise ValueError(f"a row of {len(self.widths)} cells needs {len(self.widths) - 1} gaps, got {self.gaps}")


@dataclass(frozen=True)
class PlateSpec:
    """One kind of plate (GA 36-2018), as data.

    Attributes:
        name: registry name, e.g. ``"blue"``.
        colour: the plate's colour class for the kind head (one of :data:`lprzoo.kinds.COLOURS`).
        size_mm: plate (width, height) in mm.
        background: one colour (flat) or two (vertical gradient, top to bottom).
        text_color: character colour.
        rows: character cell rows; characters fill the rows' cells in reading order.
        patterns: label patterns (regex subset, see module docstring); a label is valid if it matches one.
        pattern_weights: sampling weight of each pattern (``None``: equal).
        max_tail_letters: at most this many letters after the first two characters (paper §IV-C); ``None``: no cap.
        tail_letter_probs: sampling probabilities of 0, 1, 2, ... letters among the tail positions that may hold a
            letter or a digit (real plates mostly carry 1-2 letters).
        char_colors: ``(position, colour)`` overrides, e.g. the police plate's red 警 at position 6.
        separator: ``(row, after)``: a dot sits in the gap after cell ``after`` of row ``row``; ``None``: no dot.
        dot_diameter: separator dot diameter (mm).
        border_color: colour of the frame line inset from the plate edge.
        border_width: frame line width (mm); 0 disables it.
        border_inset: distance from the plate edge to the frame line (mm).
        corner_radius: frame line corner radius (mm).
        rivets: rivet centres (x, y) in mm.
        rivet_diameter: rivet head diameter (mm).
        emboss: strength (0-1) of the shading under the raised characters.
    """

    name: str
    colour: str
    size_mm: tuple[float, float]
    background: tuple[RGB, ...]
    text_color: RGB
    rows: tuple[Row, ...]
    patterns: tuple[str, ...]
    pattern_weights: tuple[float, ...] | None = None
    max_tail_letters: int | None = 2
    tail_letter_probs: tuple[float, ...] = (0.1, 0.35, 0.55)
    char_colors: tuple[tuple[int, RGB], ...] = ()
    separator: tuple[int, int] | None = (0, 1)
    dot_diameter: float = 10.0
    border_color: RGB | None = None
    border_width: float = 1.5
    border_inset: float = 3.0
    corner_radius: float = 10.0
    rivets: tuple[tuple[float, float], ...] = ((112.0, 12.5), (328.0, 12.5))
    rivet_diameter: float = 9.0
    emboss: float = 0.35

    def __post_init__(self) -> None:
        if not 1 <= len(self.background) <= 2:
            raise ValueError(f"spec {self.name!r}: background takes 1 colour or 2 (gradient), got {self.background}")
        if self.colour not in COLOURS:
            raise ValueError(f"spec {self.name!r}: colour must be one of {COLOURS}, got {self.colour!r}")
        if not 1 <= len(self.rows) <= 2:
            raise ValueError(f"spec {self.name!r}: a plate has one row of characters or two, got {len(self.rows)}")
        if self.pattern_weights is not None and len(self.pattern_weights) != len(self.patterns):
            raise ValueError(f"spec {self.name!r}: {len(self.patterns)} patterns but {self.pattern_weights=}")

    @property
    def kind(self) -> PlateKind:
        """The plate's colour and rows, as the kind head predicts them."""
        return PlateKind(self.colour, "double" if len(self.rows) == 2 else "single")

    @property
    def num_chars(self) -> int:
        """Characters on the plate (the sum of the rows' cells)."""
        return sum(len(r.widths) for r in self.rows)

    def cells(self) -> list[tuple[float, float, float, float]]:
        """Character cells ``(x, y, w, h)`` in mm, in reading order."""
        out = []
        for row in self.rows:
            span = sum(row.widths) + sum(row.gaps)
            x = (self.size_mm[0] - span) / 2 if row.left is None else row.left
            for i, w in enumerate(row.widths):
                out.append((x, row.top, w, row.height))
                x += w + (row.gaps[i] if i < len(row.gaps) else 0.0)
        return out

    def dot_center(self) -> tuple[float, float] | None:
        """Centre of the separator dot (mm): the middle of its gap, at mid cell height."""
        if self.separator is None:
            return None
        row_i, after = self.separator
        start = sum(len(r.widths) for r in self.rows[:row_i])
        x0, y, w, h = self.cells()[start + after]
        return x0 + w + self.rows[row_i].gaps[after] / 2, y + h / 2


SPECS: Registry[PlateSpec] = Registry("plate spec")


def register_spec(spec: PlateSpec) -> PlateSpec:
    """Register ``spec`` under ``spec.name`` (raises on a duplicate name) and return it."""
    return SPECS.register(spec.name)(spec)


def get_spec(spec: str | PlateSpec) -> PlateSpec:
    """A registered spec by name, or ``spec`` itself when it already is a :class:`PlateSpec`."""
    return spec if isinstance(spec, PlateSpec) else SPECS.get(spec)


# GA 36-2018 small-car row: 7 cells of 45 x 90 mm, 12 mm apart, 34 mm around the dot after the 2nd character.
_STANDARD_ROW = Row(top=25.0, height=90.0, widths=(45.0,) * 7, gaps=(12.0, 34.0, 12.0, 12.0, 12.0, 12.0))
_STANDARD = f"{PROVINCE}{LETTER}{ALNUM}{{5}}"
WHITE: RGB = (240, 242, 245)
BLACK: RGB = (20, 20, 22)
RED: RGB = (200, 16, 24)

register_spec(
    PlateSpec(
        name="blue",
        colour="blue",
        size_mm=(440.0, 140.0),
        background=((30, 100, 222),),
        text_color=WHITE,
        rows=(_STANDARD_ROW,),
        patterns=(_STANDARD,),
        border_color=WHITE,
    )
)
register_spec(
    PlateSpec(
        name="yellow",
        colour="yellow",
        size_mm=(440.0, 140.0),
        background=((238, 182, 18),),
        text_color=BLACK,
        rows=(_STANDARD_ROW,),
        patterns=(_STANDARD,),
        border_color=BLACK,
    )
)
# Small new-energy plate: 480 x 140 mm, gradient white-green, no dot (the gap holds the new-energy mark);
# province and authority letter 45 mm wide, the six serial characters 43 mm, 9 mm apart.
register_spec(
    PlateSpec(
        name="green",
        colour="green",
        size_mm=(480.0, 140.0),
        background=((236, 246, 238), (70, 190, 100)),
        text_color=BLACK,
        rows=(Row(top=25.0, height=90.0, widths=(45.0, 45.0) + (43.0,) * 6, gaps=(9.0, 49.0) + (9.0,) * 5),),
        patterns=(f"{PROVINCE}{LETTER}[DF]{ALNUM}{DIGIT}{{4}}", f"{PROVINCE}{LETTER}{DIGIT}{{5}}[DF]"),
        pattern_weights=(0.8, 0.2),
        separator=None,
        border_color=None,
        rivets=((120.0, 12.5), (360.0, 12.5)),
        emboss=0.15,
    )
)
# Large-vehicle rear plate: 440 x 220 mm, two rows; top: province and letter (80 x 60 mm), bottom: five
# characters (65 x 110 mm, 15 mm apart).
register_spec(
    PlateSpec(
        name="yellow-double",
        colour="yellow",
        size_mm=(440.0, 220.0),
        background=((238, 182, 18),),
        text_color=BLACK,
        rows=(
            Row(top=15.0, height=60.0, widths=(80.0, 80.0), gaps=(60.0,)),
            Row(top=90.0, height=110.0, widths=(65.0,) * 5, gaps=(15.0,) * 4),
        ),
        patterns=(_STANDARD,),
        separator=(0, 0),
        border_color=BLACK,
        rivets=((60.0, 45.0), (380.0, 45.0)),
    )
)
register_spec(
    PlateSpec(
        name="police",
        colour="white",
        size_mm=(440.0, 140.0),
        background=((236, 238, 240),),
        text_color=BLACK,
        rows=(_STANDARD_ROW,),
        patterns=(f"{PROVINCE}[A-HJ-Z]{ALNUM}{{4}}警",),  # O: a province's public-security department (粤O)
        char_colors=((6, RED),),
        border_color=BLACK,
    )
)


# ---- special plates (GA 36-2018 and its public descriptions; rendered as the standard's layouts, approximately) ----
# Each is a standard plate with other patterns or colours: a `replace` of it, as a new region's spec would be.
_SPECIAL_TAIL = f"{ALNUM}{{4}}"  # four serial characters before the special character

# Large new-energy plate: yellow-green, the D/F energy letter last.
register_spec(
    replace(
        SPECS.get("green"), name="green-large", background=((226, 222, 70), (70, 190, 100)),
        patterns=(f"{PROVINCE}{LETTER}{DIGIT}{{5}}[DF]",), pattern_weights=None,
    )
)  # fmt: skip
# Learner-driver plate: yellow, 学 in the last cell.
register_spec(replace(SPECS.get("yellow"), name="yellow-learner", patterns=(f"{PROVINCE}{LETTER}{_SPECIAL_TAIL}学",)))
# Trailer plate: yellow, two rows, 挂 last in the bottom row.
register_spec(
    replace(SPECS.get("yellow-double"), name="yellow-trailer", patterns=(f"{PROVINCE}{LETTER}{_SPECIAL_TAIL}挂",))
)
# Hong Kong and Macau cross-border plates: white characters on black, 粤Z, 港 or 澳 last.
register_spec(
    replace(
        SPECS.get("blue"), name="black-hk-macau", colour="black", background=((18, 18, 20),),
        patterns=(f"粤Z{_SPECIAL_TAIL}[港澳]",),
    )
)  # fmt: skip
# Embassy plate: black, a red 使 first, then six digits (the embassy's code and the vehicle's number).
register_spec(
    replace(SPECS.get("black-hk-macau"), name="black-embassy", patterns=(f"使{DIGIT}{{6}}",), char_colors=((0, RED),))
)
# Consulate plate: black, a red 领 last.
register_spec(
    replace(
        SPECS.get("black-hk-macau"), name="black-consulate", patterns=(f"{PROVINCE}{LETTER}{_SPECIAL_TAIL}领",),
        char_colors=((6, RED),),
    )
)  # fmt: skip
# Emergency-rescue plate: white, a red 应急 in two narrow cells last.
_EMERGENCY_ROW = Row(
    top=25.0, height=90.0, widths=(45.0,) * 6 + (30.0, 30.0), gaps=(10.0, 30.0) + (10.0,) * 3 + (8.0, 4.0)
)
register_spec(
    replace(
        SPECS.get("police"), name="white-emergency",
        rows=(_EMERGENCY_ROW,), patterns=(f"{PROVINCE}{LETTER}{_SPECIAL_TAIL}应急",), char_colors=((6, RED), (7, RED)),
    )
)  # fmt: skip
