"""The one image reader (:mod:`lprzoo.data.images`) shows images as a viewer does: EXIF orientation applied,
16-bit and float images converted by their real range, and a warning for images too small to be a plate."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from lprzoo.data.images import load_plate
from lprzoo.data.sources import Sample
from tests.conftest import SHARED_DATA


def _gradient(width: int = 160, height: int = 48) -> np.ndarray:
    """A left-dark, right-bright plate-sized ramp, so an upside-down or sideways read is visible."""
    return np.tile(np.linspace(0, 1, width), (height, 1))


def test_an_exif_rotated_jpeg_reads_upright(tmp_path):
    upright = Image.fromarray((_gradient() * 255).astype(np.uint8)).convert("RGB")
    upright.save(tmp_path / "upright.jpg", quality=95)
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # a phone stores the pixels sideways ...
    exif = Image.Exif()
    exif[0x0112] = 6  # ... and says "rotate 90° clockwise to view"
    stored.save(tmp_path / "phone.jpg", quality=95, exif=exif)
    a = load_plate(Sample(str(tmp_path / "upright.jpg"))).float()
    b = load_plate(Sample(str(tmp_path / "phone.jpg"))).float()
    assert (a - b).abs().mean() < 3  # the same plate, not a sideways one


@pytest.mark.parametrize("mode, scale", [("I;16", 4095), ("I;16", 65535), ("F", 1.0), ("F", 1000.0), ("I", 70000)])
def test_wide_range_images_convert_by_their_real_range(tmp_path, mode, scale):
    values = _gradient() * scale
    if mode == "I;16":
        image = Image.fromarray(values.astype(np.uint16))
    elif mode == "F":
        image = Image.fromarray(values.astype(np.float32), mode="F")
    else:
        image = Image.fromarray(values.astype(np.int32), mode="I")
    path = tmp_path / f"plate_{mode.replace(';', '')}_{int(scale)}.{'tiff' if mode in ('F', 'I') else 'png'}"
    image.save(path)
    plate = load_plate(Sample(str(path))).float()  # (3, 48, 160)
    assert plate[:, :, :10].mean() < 20 and plate[:, :, -10:].mean() > 235  # dark to bright, not white or black


def test_a_float_image_with_nan_reads_without_failing(tmp_path):
    values = _gradient().astype(np.float32)
    values[0, 0] = np.nan
    Image.fromarray(values, mode="F").save(tmp_path / "nan.tiff")
    assert load_plate(Sample(str(tmp_path / "nan.tiff"))).float()[:, :, -10:].mean() > 235


def test_an_image_far_too_small_for_a_plate_is_warned_about(tmp_path, caplog):
    Image.new("RGB", (1, 1), (0, 0, 255)).save(tmp_path / "dot.png")
    Image.new("RGB", (94, 24), (0, 0, 255)).save(tmp_path / "crop.png")
    caplog.set_level("WARNING", logger="lprzoo")
    load_plate(Sample(str(tmp_path / "crop.png")))
    assert "too small" not in caplog.text
    load_plate(Sample(str(tmp_path / "dot.png")))
    assert "dot.png: 1 x 1 pixels is far too small to show a plate" in caplog.text


def test_an_exif_rotated_copy_of_real_val_reads_the_same(tmp_path):
    """Every real/val crop stored sideways with an EXIF orientation tag reads as the original does."""
    import lprzoo

    folder = SHARED_DATA / "real" / "val"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    originals = sorted(folder.glob("*.jpg"))[:40]
    rotated = []
    for path in originals:
        with Image.open(path) as image:
            exif = Image.Exif()
            exif[0x0112] = 8  # "rotate 270° clockwise to view"
            target = tmp_path / path.name
            image.transpose(Image.Transpose.ROTATE_270).save(target, quality=100, exif=exif)
            rotated.append(target)
    reader = lprzoo.load("lightcrnn-1.2-adapt-auto")
    same = sum(a.text == b.text for a, b in zip(reader(originals), reader(rotated)))
    assert same >= len(originals) - 1  # JPEG re-encoding may move one borderline reading
    assert torch.is_tensor(load_plate(Sample(str(rotated[0]))))
