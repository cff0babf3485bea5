"""``RenderConfig``: how rendered plates are drawn, declared once and taken whole by every data module that renders
(paper §IV-C, "following the fonts, colors and composition rules"): the recognizer's
(:class:`~lprzoo.data.script.ScriptDataModule`, :class:`~lprzoo.data.blend.BlendedDataModule`) and the GAN's
(:class:`~lprzoo.data.unpaired.UnpairedPlatesDataModule`, :class:`~lprzoo.data.gan.GANGeneratedDataModule`), so a
GAN can train on the very renders the recognizer uses.  In a recipe::

    data:
      init_args:
        render:
          specs: {blue: 0.6, yellow: 0.35, green: 0.05}
          cjk_fonts: [noto-sans-cjk-regular, noto-sans-cjk-medium, noto-sans-cjk-bold, noto-sans-cjk-black]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from lprzoo.batch import INPUT, InputContract
from lprzoo.render.degrade import DegradationsChoice
from lprzoo.render.fonts import GlyphJitter
from lprzoo.render.plates import ScriptPlates


@dataclass
class RenderConfig:
    """The renders' settings.

    Args:
        specs: plate spec -> sampling weight (``lprzoo.render.SPECS``); unset: the data module's default.
        degradations: a renderer preset (``default``, ``paper``, ``none``) or a typed ``Degradations`` whose fields
            are tuned one by one (``{"low_res": {"p": 0.8}, "jpeg": null}``).
        province_weights: province -> weight, or a labels file / folder to estimate them from; unset: uniform (the
            paper's answer to real data's skew).
        latin_fonts: registered fonts for letters and digits, one per plate (``lprzoo.render.FONTS.list()``); unset:
            the renderer's default mix of six narrow faces.
        cjk_fonts: registered fonts for Chinese characters, one per plate (e.g.
            ``lprzoo.render.fonts.CJK_WEIGHT_MIX``: Noto Sans CJK from Regular to Black); unset: Bold.
        cjk_jitter: per-plate stroke and size variation of the province glyph (:class:`GlyphJitter`).
    """

    specs: dict[str, float] | None = None
    degradations: DegradationsChoice = "default"
    province_weights: dict[str, float] | str | None = None
    latin_fonts: list[str] | None = None
    cjk_fonts: list[str] | None = None
    cjk_jitter: GlyphJitter | None = None

    def plates(
        self, length: int, seed: int, default_specs: Mapping[str, float], contract: InputContract = INPUT
    ) -> ScriptPlates:
        """``length`` plates per epoch, drawn from ``seed``, at ``contract``'s size and layout."""
        provinces = self.province_weights
        if isinstance(provinces, str):
            from lprzoo.render.rules import estimate_province_weights

            provinces = estimate_province_weights(provinces)
        return ScriptPlates(
            length, dict(self.specs or default_specs), self.degradations, provinces, seed, self.latin_fonts,
            self.cjk_fonts, self.cjk_jitter, size=contract.size, layout=contract.layout,
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """Plain data (checkpoints are read with ``weights_only=True``: no dataclass inside)."""
        return asdict(self)
