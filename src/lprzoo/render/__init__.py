"""The seeded synthetic plate renderer (paper §IV-C): specs as data, plate grammar, fonts, degradations.

Example::

    from lprzoo.render import PlateRenderer, is_valid_plate
    image, text = PlateRenderer("blue").sample(np.random.default_rng(0))  # (48, 160, 3) uint8
    assert is_valid_plate(text, "blue")
"""

from __future__ import annotations

from lprzoo.registry import lazy_getattr

# OpenCV (degradations, folders) is imported only when a renderer is used, so that `lprzoo.load` stays light.
_LAZY = {
    "compare_with_real": "lprzoo.render.dataset",
    "item_rng": "lprzoo.render.dataset",
    "render_to_folder": "lprzoo.render.dataset",
    "save_preview": "lprzoo.render.dataset",
    "Affine": "lprzoo.render.degrade",
    "ColorJitter": "lprzoo.render.degrade",
    "CropJitter": "lprzoo.render.degrade",
    "Defocus": "lprzoo.render.degrade",
    "Degradations": "lprzoo.render.degrade",
    "Dirt": "lprzoo.render.degrade",
    "GaussianNoise": "lprzoo.render.degrade",
    "Jpeg": "lprzoo.render.degrade",
    "LowRes": "lprzoo.render.degrade",
    "MotionBlur": "lprzoo.render.degrade",
    "Perspective": "lprzoo.render.degrade",
    "ScaleJitter": "lprzoo.render.degrade",
    "Shadow": "lprzoo.render.degrade",
    "UnevenLight": "lprzoo.render.degrade",
    "FONTS": "lprzoo.render.fonts",
    "FontNotFoundError": "lprzoo.render.fonts",
    "FontSource": "lprzoo.render.fonts",
    "cjk_font_path": "lprzoo.render.fonts",
    "glyph_mask": "lprzoo.render.fonts",
    "register_font": "lprzoo.render.fonts",
    "PlateRenderer": "lprzoo.render.renderer",
    "resolve_degradations": "lprzoo.render.renderer",
    "estimate_province_weights": "lprzoo.render.rules",
    "explain_invalid": "lprzoo.render.rules",
    "grammar": "lprzoo.render.rules",
    "is_valid_plate": "lprzoo.render.rules",
    "is_valid_prefix": "lprzoo.render.rules",
    "read_labels": "lprzoo.render.rules",
    "sample_plate_text": "lprzoo.render.rules",
    "SPECS": "lprzoo.render.specs",
    "PlateSpec": "lprzoo.render.specs",
    "Row": "lprzoo.render.specs",
    "get_spec": "lprzoo.render.specs",
    "register_spec": "lprzoo.render.specs",
}


__getattr__ = lazy_getattr(globals(), _LAZY)  # PEP 562


__all__ = list(_LAZY)
