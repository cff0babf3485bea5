"""Bad input: each case is a clear error naming the file, or a counted skip with ``skip_invalid``."""

from pathlib import Path

import pytest
from PIL import Image

from lprzoo.charset import Charset
from lprzoo.data.images import load_plate
from lprzoo.data.sources import (
    InvalidSampleError,
    Sample,
    SkipLog,
    label_from_filename,
    parse_ccpd_name,
    read_source,
)

CS = Charset()


def test_label_from_filename_strips_index_prefix():
    assert label_from_filename("00012_京A12345.jpg") == "京A12345"
    assert label_from_filename("/x/京A12345.png") == "京A12345"


def test_folder_of_named_crops(plate_folder):
    samples = read_source(plate_folder, CS)
    assert len(samples) == 12
    assert all(len(s.label) == 7 for s in samples)


def test_labels_tsv_and_fast_plate_ocr_csv(tmp_path, plate_folder):
    files = sorted(plate_folder.glob("*.jpg"))
    tsv = tmp_path / "labels.tsv"
    tsv.write_text("".join(f"plates/{f.name}\t{label_from_filename(f)}\n" for f in files), encoding="utf-8")
    csv_file = tmp_path / "train.csv"
    csv_file.write_text(
        "image_path,plate_text\n" + "".join(f"{f},{label_from_filename(f)}\n" for f in files), encoding="utf-8"
    )
    a, b = read_source(tsv, CS), read_source(csv_file, CS)
    assert [s.label for s in a] == [s.label for s in b] == [label_from_filename(f) for f in files]
    assert Path(a[0].path).is_file()


def test_ccpd_names_decode_label_and_corners(ccpd_sample):
    samples = read_source(ccpd_sample, CS)
    assert len(samples) == 9
    assert sum(len(s.label) == 8 for s in samples) == 5  # green new-energy plates
    green = [s for s in samples if s.path.endswith("0_0_3_25_25_25_30_30-228-16.jpg")][0]
    assert green.label == "皖AD11166"
    tl, tr, br, bl = green.corners
    assert tl[0] < tr[0] and tl[1] < bl[1]
    img = load_plate(green)
    assert img.shape == (3, 48, 160)
    assert img.float().std() > 10  # a rectified plate, not an empty warp


# ---- bad input -----------------------------------------------------------------------------------------------
def test_zero_byte_file(tmp_path):
    (tmp_path / "京A12345.jpg").write_bytes(b"")
    with pytest.raises(InvalidSampleError, match=r"京A12345.jpg: empty file"):
        read_source(tmp_path, CS)


def test_corrupt_and_truncated_images(tmp_path, plate_folder):
    good = sorted(plate_folder.glob("*.jpg"))[0]
    (tmp_path / "京A11111.jpg").write_bytes(b"not a jpeg at all")
    (tmp_path / "京A22222.jpg").write_bytes(good.read_bytes()[:200])
    for name in ("京A11111.jpg", "京A22222.jpg"):
        with pytest.raises(InvalidSampleError, match=rf"{name}: corrupt or truncated image"):
            load_plate(Sample(str(tmp_path / name), "x"))


def test_label_outside_charset_names_file_and_char(tmp_path, plate_folder):
    src = sorted(plate_folder.glob("*.jpg"))[0]
    (tmp_path / "京A1234警.jpg").write_bytes(src.read_bytes())
    with pytest.raises(InvalidSampleError, match=r"京A1234警.jpg: label outside the charset.*'警'"):
        read_source(tmp_path, CS)
    assert read_source(tmp_path, Charset("警"))[0].label == "京A1234警"


def test_empty_folder(tmp_path):
    with pytest.raises(InvalidSampleError, match="no images found"):
        read_source(tmp_path, CS)


def test_bad_ccpd_name():
    with pytest.raises(InvalidSampleError, match="not a CCPD file name"):
        parse_ccpd_name("025-95_113-154&383_386&473-bad.jpg")


def test_grayscale_rgba_palette_are_converted(tmp_path):
    for mode in ("L", "RGBA", "P", "LA", "I;16"):
        path = tmp_path / f"京A1234{len(mode)}_{mode.replace(';', '')}.png"
        Image.new(mode if mode != "I;16" else "I;16", (94, 24)).save(path)
        img = load_plate(Sample(str(path), "京A12345"))
        assert img.shape == (3, 48, 160)


def test_labels_file_with_missing_files(tmp_path):
    (tmp_path / "labels.tsv").write_text("gone.jpg\t京A12345\n", encoding="utf-8")
    with pytest.raises(InvalidSampleError, match=r"gone.jpg: missing file"):
        read_source(tmp_path / "labels.tsv", CS)


def test_skip_invalid_counts_and_logs(tmp_path, plate_folder, caplog):
    for f in plate_folder.glob("*.jpg"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    (tmp_path / "京A00000.jpg").write_bytes(b"")
    (tmp_path / "京A1234警.jpg").write_bytes(b"x")
    skips = SkipLog(skip_invalid=True)
    samples = read_source(tmp_path, CS, skips=skips)
    assert len(samples) == 12 and skips.count == 2
    skips.report("train")
    assert "skipped 2 invalid samples in train" in caplog.text
