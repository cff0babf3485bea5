"""Generator quality: label retention, realism and colour kept, measured against the renders themselves."""

import math

import torch
from torch import nn

import lprzoo
from lprzoo.translation_quality import generator_quality, real_crops


class Blackout(nn.Module):
    """A generator that destroys the plate: every pixel black."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full_like(x, -1.0)


def test_an_identity_generator_changes_nothing_and_a_destructive_one_loses_colour_and_realism(plate_folder):
    reader, real = lprzoo.load("lightcrnn-1.2-adapt"), real_crops(plate_folder)  # a trained CNN: features that vary
    same = generator_quality(nn.Identity(), reader, real, n=24, specs={"blue": 0.5, "yellow": 0.5})
    assert same["translated"] == same["renders"]
    assert same["renders"]["colour_kept"] > 0.75  # renders are mostly read as the colour they were drawn in
    black = generator_quality(Blackout(), reader, real, n=24, specs={"blue": 0.5, "yellow": 0.5})
    assert black["translated"]["colour_kept_by_spec"] == {"blue": 0.0, "yellow": 0.0}
    assert black["translated"]["colour_kept"] == 0.0 and black["translated"]["RA"] == 0.0
    assert same["renders"]["RA"] > 0.5  # the reader reads renders: the label survives the identity
    assert math.isfinite(black["translated"]["FD"]) and black["translated"]["FD"] != black["renders"]["FD"]
