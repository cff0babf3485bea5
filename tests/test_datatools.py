"""``lprzoo data stats|validate|augment-preview`` on tiny folders written by the tests."""

from __future__ import annotations

import shutil
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lprzoo.cli import main
from lprzoo.datatools import BREAKS_GRAMMAR, collect_stats
from lprzoo.render.degrade import Degradations
from tests.conftest import write_plates


def solid(path: Path, rgb: tuple[int, int, int], size: tuple[int, int] = (120, 40)) -> None:
    Image.fromarray(np.full((size[1], size[0], 3), rgb, np.uint8)).save(path)


@pytest.fixture
def mixed_folder(tmp_path: Path) -> Path:
    """6 noise plates, a blue and a yellow one (120x40), a byte-for-byte duplicate and a 6-character label."""
    folder = tmp_path / "mixed"
    labels = write_plates(folder, 6)
    solid(folder / "00100_京A12345.jpg", (20, 60, 220))
    solid(folder / "00101_沪B67890.png", (250, 200, 0))
    shutil.copy(folder / f"00000_{labels[0]}.jpg", folder / "00102_浙C11111.jpg")
    shutil.copy(folder / f"00001_{labels[1]}.jpg", folder / "00103_皖D1234.jpg")  # 6 characters: no plate spec
    return folder


def test_stats_counts_colour_province_length_spec_sizes_duplicates_and_grammar(mixed_folder, tmp_path):
    st = collect_stats(str(mixed_folder), progress=False)
    assert st.plates == 10 and not st.unreadable
    assert st.colour["blue"] == 1 and st.colour["yellow"] == 1
    assert st.province["京"] >= 1 and st.province["沪"] >= 1 and sum(st.province.values()) == 10
    assert st.length == {7: 9, 6: 1}
    assert st.spec[BREAKS_GRAMMAR] == 1 and st.spec["blue"] + st.spec.get("yellow", 0) == 9
    assert [label for _, label in st.bad_grammar] == ["皖D1234"]
    assert sorted(st.sizes).count((120, 40)) == 2 and sorted(st.sizes).count((94, 24)) == 8
    assert len(st.duplicates) == 2 and all(len(group) == 2 for group in st.duplicates)
    assert any(Path(p).name == "00102_浙C11111.jpg" for group in st.duplicates for p in group)


def test_stats_command_prints_a_table_and_writes_the_picture(mixed_folder, tmp_path, capsys):
    plot = tmp_path / "stats.png"
    assert main(["data", "stats", str(mixed_folder), "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "plates read" in out and "皖D1234" in out and "duplicate" in out
    with Image.open(plot) as img:
        assert img.size[0] > 600 and img.size[1] > 300


def test_stats_reads_a_labels_file(tmp_path):
    labels = write_plates(tmp_path / "d", 4)
    rows = ["filename\tlabel"] + [f"{i:05d}_{label}.jpg\t{label}" for i, label in enumerate(labels)]
    (tmp_path / "d" / "labels.tsv").write_text("\n".join(rows), encoding="utf-8")
    st = collect_stats(str(tmp_path / "d" / "labels.tsv"), progress=False)
    assert st.plates == 4 and sum(st.province.values()) == 4


def test_validate_lists_every_bad_file_with_the_training_message_and_exits_2(tmp_path, caplog, capsys):
    folder = tmp_path / "bad"
    write_plates(folder, 5)
    (folder / "00010_京A11111.jpg").write_bytes(b"not a jpeg at all")  # corrupt
    (folder / "00011_京A22222.jpg").write_bytes(b"")  # empty
    shutil.copy(next(folder.glob("00000_*.jpg")), folder / "00012_京A1#345.jpg")  # outside the charset
    shutil.copy(next(folder.glob("00000_*.jpg")), folder / "00013_京A1234.jpg")  # breaks the plate grammar
    assert main(["data", "validate", str(folder)]) == 2
    out = capsys.readouterr().out
    for name, why in (
        ("00010_京A11111.jpg", "corrupt or truncated image"),
        ("00011_京A22222.jpg", "empty file"),
        ("00012_京A1#345.jpg", "label outside the charset"),
        ("00013_京A1234.jpg", "not a plate"),
    ):
        line = next((ln for ln in out.splitlines() if name in ln), "")
        assert why in line, (name, out)
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "4 bad files, 5 good" in errors[0]
    caplog.clear()
    assert main(["data", "validate", str(folder), "--plates", "false"]) == 2  # the grammar check is optional
    assert "3 bad files, 6 good" in [r.getMessage() for r in caplog.records if r.levelname == "ERROR"][0]


def test_validate_passes_a_clean_folder(plate_folder, capsys):
    assert main(["data", "validate", str(plate_folder)]) == 0
    assert "ok: 12 files" in capsys.readouterr().out


def test_validate_missing_folder_is_one_line_exit_2(tmp_path):
    assert main(["data", "validate", str(tmp_path / "nowhere")]) == 2


def test_augment_preview_has_a_row_per_degradation(tmp_path, plate_folder):
    out = tmp_path / "preview.png"
    assert main(["data", "augment-preview", "--out", str(out), "--n", "3"]) == 0
    rows = 1 + len(fields(Degradations)) + 1  # PlateAugment, one per degradation, all of them
    with Image.open(out) as img:
        assert img.size == (190 + 4 * (160 + 4), rows * (48 + 4) + 4)
        pixels = np.asarray(img.convert("RGB"))
    first = pixels[4 : 4 + 48, 190 : 190 + 160]
    augmented = pixels[4 : 4 + 48, 190 + 164 : 190 + 164 + 160]
    assert np.abs(first.astype(int) - augmented.astype(int)).mean() > 1  # the augmentation changed the plate
    image = next(plate_folder.glob("*.jpg"))
    assert main(["data", "augment-preview", "--out", str(out), "--n", "2", "--image", str(image)]) == 0


def test_help_lists_the_data_verb(capsys):
    assert main(["--help"]) == 0
    assert "data" in capsys.readouterr().out
