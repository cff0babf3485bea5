"""The seeded synthetic plate renderer (paper §IV-C): specs as data, plate grammar, fonts, degradations.

Example::

    from lprzoo.render import PlateRenderer, is_valid_plate
    image, text = PlateRenderer("blue").sample(np.random.default_rng(0))  # (48, 160, 3) uint8
    assert is_valid_plate(text, "blue")
"""

from __future__ import annotations

from lprzoo.render.dataset import compare_with_real, item_rng, render_to_folder, save_preview
from lprzoo.render.degrade import (
    Affine,
    ColorJitter,
    CropJitter,
    Defocus,
    Degradations,
    Dirt,
    GaussianNoise,
    Jpeg,
    LowRes,
    MotionBlur,
    Perspective,
    ScaleJitter,
    Shadow,
    UnevenLight,
)
from lprzoo.render.fonts import FONTS, FontNotFoundError, FontSource, cjk_font_path, glyph_mask, register_font
from lprzoo.render.renderer import PlateRenderer, resolve_degradations
from lprzoo.render.rules import (
    estimate_province_weights,
    explain_invalid,
    grammar,
    is_valid_plate,
    is_valid_prefix,
    read_labels,
    sample_plate_text,
)
from lprzoo.render.specs import SPECS, PlateSpec, Row, get_spec, register_spec

__all__ = [
    "FONTS",
    "SPECS",
    "Affine",
    "ColorJitter",
    "CropJitter",
    "Defocus",
    "Degradations",
    "Dirt",
    "FontNotFoundError",
    "FontSource",
    "GaussianNoise",
    "Jpeg",
    "LowRes",
    "MotionBlur",
    "Perspective",
    "PlateRenderer",
    "PlateSpec",
    "Row",
    "ScaleJitter",
    "Shadow",
    "UnevenLight",
    "cjk_font_path",
    "compare_with_real",
    "estimate_province_weights",
    "explain_invalid",
    "get_spec",
    "glyph_mask",
    "grammar",
    "is_valid_plate",
    "is_valid_prefix",
    "item_rng",
    "read_labels",
    "register_font",
    "register_spec",
    "render_to_folder",
    "resolve_degradations",
    "sample_plate_text",
    "save_preview",
]
