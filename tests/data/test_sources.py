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
    parse_ccpd_name,
    read_source,
)
from lprzoo.errors import LprzooError
from lprzoo.folders import label_from_filename
from tests.conftest import SHARED_DATA

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


# ---- labels files in other encodings, single images and patterns, plate grammar, CCPD indices -------------------
def _copy_plates(src: Path, dst: Path, labels: list[str]) -> list[str]:
    dst.mkdir(parents=True, exist_ok=True)
    jpg = sorted(src.glob("*.jpg"))[0].read_bytes()
    names = [f"{i:03d}.jpg" for i in range(len(labels))]
    for name in names:
        (dst / name).write_bytes(jpg)
    return names


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_labels_file_in_utf8_bom_or_gb18030(tmp_path, plate_folder, encoding):
    labels = ["京A12345", "粤B6789D", "沪C00001"]
    names = _copy_plates(plate_folder, tmp_path / "d", labels)
    rows = "filename\tlabel\n" + "".join(f"{n}\t{t}\n" for n, t in zip(names, labels))
    (tmp_path / "d" / "labels.tsv").write_bytes(rows.encode(encoding))
    assert [s.label for s in read_source(tmp_path / "d", CS)] == labels


def test_labels_file_neither_utf8_nor_gb18030_names_file_and_row(tmp_path, plate_folder):
    names = _copy_plates(plate_folder, tmp_path, ["x", "y"])
    data = f"{names[0]}\t京A12345\n".encode() + f"{names[1]}\t".encode() + b"\xff\xff\n"
    (tmp_path / "labels.tsv").write_bytes(data)
    with pytest.raises(InvalidSampleError, match=r"labels.tsv: row 2 is neither UTF-8 nor GB18030 .*0xff"):
        read_source(tmp_path, CS)


def test_single_image_and_glob_pattern_are_images_not_labels_files(tmp_path, plate_folder):
    files = sorted(plate_folder.glob("*.jpg"))
    (plate_folder / "notes.txt").write_text("not an image")
    one = read_source(files[0], CS)
    assert [s.path for s in one] == [str(files[0])] and one[0].label == label_from_filename(files[0])
    matched = read_source(str(plate_folder / "0000*.jpg"), CS)
    assert [s.path for s in matched] == [str(f) for f in files[:10]]
    with pytest.raises(LprzooError, match=r"nothing\*.jpg: no file matches"):
        read_source(str(plate_folder / "nothing*.jpg"), CS)


@pytest.mark.parametrize("label", ["AB", "京A1234", "京A12345678901"])
def test_label_that_is_not_a_plate_names_file_and_label(tmp_path, plate_folder, label):
    src = sorted(plate_folder.glob("*.jpg"))[0]
    (tmp_path / f"{label}.jpg").write_bytes(src.read_bytes())
    with pytest.raises(InvalidSampleError, match=rf"{label}.jpg: not a plate: label '{label}' fits no plate spec"):
        read_source(tmp_path, CS)
    skips = SkipLog(skip_invalid=True)
    for f in plate_folder.glob("*.jpg"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    assert len(read_source(tmp_path, CS, skips=skips)) == 12 and skips.reasons == {"not a plate": 1}
    assert len(read_source(tmp_path, CS, plates=False)) == 13  # plate kinds with no spec: opt out
    assert read_source(tmp_path, CS, labelled=False)  # predict: a file name is no label to check


def test_ccpd_index_out_of_range_names_field_and_index():
    name = "025-95_113-154&383_386&473-386&473_177&454_154&383_363&402-0_0_22_27_99_33_16-37-15.jpg"
    with pytest.raises(InvalidSampleError, match=r"field 5 index 5 \(character\) is 99, out of range 0-34"):
        parse_ccpd_name(name)
    with pytest.raises(InvalidSampleError, match=r"field 5 index 1 \(province\) is 40, out of range 0-33"):
        parse_ccpd_name(name.replace("-0_0_22", "-40_0_22"))


@pytest.mark.skipif(not (SHARED_DATA / "real").is_dir(), reason="../shared/data is absent")
def test_every_real_label_fits_the_plate_grammar():
    """The grammar check must drop no real data: real/train, real/val and target/dev load in full."""
    for split, n in (("real/train", 1637), ("real/val", 489), ("target/dev", 92)):
        skips = SkipLog(skip_invalid=True)
        assert len(read_source(SHARED_DATA / split, CS, skips=skips)) == n and skips.count == 0, split


# ---- a second round of probes (docs/reliability.md) ---------------------------------------------------------
def _some_plates(src: Path, dst: Path, n: int = 3) -> list[Path]:
    dst.mkdir(parents=True, exist_ok=True)
    out = []
    for f in sorted(src.glob("*.jpg"))[:n]:
        (dst / f.name).write_bytes(f.read_bytes())
        out.append(dst / f.name)
    return out


def test_a_file_listed_twice_with_different_labels_is_refused(tmp_path, plate_folder):
    (first,) = _some_plates(plate_folder, tmp_path, 1)
    (tmp_path / "labels.tsv").write_text(f"{first.name}\t京A12345\nx\t京A00000\n{first.name}\t沪B54321\n", "utf-8")
    with pytest.raises(InvalidSampleError, match=r"listed twice with different labels \('京A12345' in row 1, "
                                                 r"'沪B54321' in row 3\)"):  # fmt: skip
        read_source(tmp_path / "labels.tsv", CS)


def test_a_file_listed_twice_with_the_same_label_is_read_once_with_a_warning(tmp_path, plate_folder, caplog):
    (first,) = _some_plates(plate_folder, tmp_path, 1)
    (tmp_path / "labels.tsv").write_text(f"{first.name}\t京A12345\n{first.name}\t京A12345\n", "utf-8")
    assert len(read_source(tmp_path / "labels.tsv", CS)) == 1
    assert "listed twice (rows 1 and 2, same label); read once" in caplog.text


def test_an_unbalanced_quote_in_a_labels_file_is_named_not_swallowing_rows(tmp_path, plate_folder):
    files = _some_plates(plate_folder, tmp_path, 3)
    rows = [f"{f.name},京A1234{i}" for i, f in enumerate(files)]
    rows[0] = f'"{files[0].name},京A12340'  # the quote never closes
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n", "utf-8")
    with pytest.raises(InvalidSampleError, match=r"row 1 opens a quote .* not closed on its line"):
        read_source(tmp_path / "labels.csv", CS)


def test_a_stale_labels_file_names_the_images_it_leaves_out(tmp_path, plate_folder, caplog):
    files = _some_plates(plate_folder, tmp_path, 3)
    (tmp_path / "labels.tsv").write_text(f"{files[0].name}\t京A12345\n", "utf-8")
    assert len(read_source(tmp_path / "labels.tsv", CS)) == 1
    assert "2 image(s) beside it are not listed, so not used" in caplog.text and files[1].name in caplog.text


def test_gif_files_and_broken_links_in_a_data_folder_are_named(tmp_path, plate_folder, caplog):
    _some_plates(plate_folder, tmp_path, 2)
    Image.new("P", (94, 24)).save(tmp_path / "京A99999.gif")
    (tmp_path / "京A88888.jpg").symlink_to(tmp_path / "gone.jpg")
    assert len(read_source(tmp_path, CS)) == 2
    assert "1 file(s) in a format lprzoo does not read, ignored (京A99999.gif)" in caplog.text
    assert "1 broken symbolic link(s), ignored (京A88888.jpg)" in caplog.text


@pytest.mark.parametrize("corners", ["nan&10_20&30_40&50_60&70", "inf&1_2&3_4&5_6&7"])
def test_ccpd_corners_that_are_not_finite_or_negative_are_refused(corners):
    name = f"025-95_113-154&383_386&473-{corners}-0_0_22_27_29_33_16-37-15.jpg"
    with pytest.raises(InvalidSampleError, match="negative, NaN or infinite"):
        parse_ccpd_name(name)


def test_ccpd_corners_outside_the_image_are_refused_not_read_black(tmp_path):
    name = "025-95_113-154&383_386&473-900&473_177&454_154&383_363&402-0_0_22_27_29_33_16-37-15.jpg"
    Image.new("RGB", (720, 1160)).save(tmp_path / name)
    sample = parse_ccpd_name(tmp_path / name)
    sample = Sample(sample.path, sample.label, tuple((x, y + 2000) for x, y in sample.corners))
    with pytest.raises(InvalidSampleError, match=r"CCPD corners .* lie outside the 720 x 1160 image"):
        load_plate(sample)


def test_a_decompression_bomb_is_a_named_error(tmp_path, monkeypatch):
    Image.new("L", (400, 400)).save(tmp_path / "京A12345.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)  # a 20000 x 20000 PNG against the real limit
    with pytest.raises(InvalidSampleError, match="too large to be a plate crop"):
        load_plate(Sample(str(tmp_path / "京A12345.png"), "京A12345"))
