"""``lprzoo.load`` -> ``PlateReader``: every input kind, batched, stable results, and a light import."""

import csv
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import lprzoo
from lprzoo.reader import PlateReader, PlateReading
from lprzoo.weights import RecognizerRecord, save_recognizer


@pytest.fixture
def reader(tmp_path):
    record = RecognizerRecord(arch="test-lightcrnn-tiny", beam_width=3, top_n=3)
    path = save_recognizer(tmp_path / "tiny.safetensors", record.build(), record)
    return lprzoo.load(str(path), batch_size=4)


def test_every_input_kind_reads_the_same_plate(reader, plate_folder):
    path = sorted(plate_folder.glob("*.jpg"))[0]
    pil = Image.open(path).convert("RGB")
    array = np.asarray(pil)
    tensor = torch.from_numpy(array).permute(2, 0, 1)
    readings = [reader(path), reader(str(path)), reader(pil), reader(array), reader(tensor)]
    assert all(isinstance(r, PlateReading) for r in readings)
    assert len({r.text for r in readings[:4]}) == 1  # same pixels, same conversion
    assert readings[0].source == str(path) and readings[2].source == "<PIL>"
    first = readings[0]
    assert 0.0 <= first.confidence <= 1.0 and 1 <= len(first.topn) <= 3
    assert first.topn == sorted(first.topn, key=lambda t: -t[1])


def test_lists_folders_and_batches_return_one_reading_per_image_in_order(reader, plate_folder):
    files = sorted(plate_folder.glob("*.jpg"))
    one_by_one = [reader(f).text for f in files]
    batched = reader(files)  # 12 files in batches of 4
    assert [r.text for r in batched] == one_by_one
    assert [r.source for r in reader(plate_folder)] == [str(f) for f in files]
    stack = torch.stack([torch.zeros(3, 48, 160, dtype=torch.uint8)] * 5)
    assert len(reader(stack)) == 5


def test_grammar_flag_names_the_spec(reader):
    reading = PlateReading("皖A12345", 0.9)
    assert reading.valid is False  # the plain dataclass does not judge; the reader does
    from lprzoo.render.rules import plate_spec_of

    assert plate_spec_of("皖A12345") == "blue" and plate_spec_of("皖AD12345") is not None
    assert plate_spec_of("AB") is None and plate_spec_of("皖A1234") is None


def test_bad_inputs_are_one_line_errors(reader, tmp_path):
    with pytest.raises(lprzoo.errors.LprzooError, match="no such image"):
        reader(tmp_path / "missing.jpg")
    with pytest.raises(lprzoo.errors.LprzooError, match="HWC uint8"):
        reader(np.zeros((48, 160, 3), dtype=np.float32))
    with pytest.raises(lprzoo.errors.LprzooError, match="cannot read a plate"):
        reader(42)


def test_reader_matches_the_training_module(tmp_path, plate_folder):
    """The same checkpoint read by the Lightning module and by lprzoo.load gives the same log-probabilities."""
    from lprzoo.cli import main
    from lprzoo.data.real import RealPlatesDataModule
    from lprzoo.recognize.module import CRNNModule
    from tests.test_cli import tiny_args

    assert main(["fit", *tiny_args(tmp_path, plate_folder, "--trainer.max_steps", "2")]) == 0
    ckpt = tmp_path / "checkpoints" / "last.ckpt"
    module = CRNNModule.load_from_checkpoint(ckpt, weights_only=True).eval()
    dm = RealPlatesDataModule(predict=str(plate_folder), num_workers=0, batch_size=12)
    dm.setup("predict")
    batch = next(iter(dm.predict_dataloader()))
    reader = lprzoo.load(str(ckpt))
    with torch.no_grad():
        expected = module(batch.images)
    got = reader.log_probs((batch.images * 255).round().to(torch.uint8))
    assert torch.allclose(expected, got, atol=1e-5)
    assert isinstance(reader, PlateReader) and reader.record.arch == "test-lightcrnn-tiny"


def test_import_and_load_need_neither_lightning_nor_opencv_nor_jsonargparse(tmp_path):
    record = RecognizerRecord(arch="test-lightcrnn-tiny")
    path = save_recognizer(tmp_path / "tiny.safetensors", record.build(), record)
    code = (
        "import sys, torch, lprzoo; r = lprzoo.load(sys.argv[1]); r(torch.zeros(3, 48, 160, dtype=torch.uint8)); "
        "print(sorted(m for m in ('lightning', 'cv2', 'jsonargparse') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"top_n": 0}, "top_n must be at least 1"), ({"batch_size": 0}, "batch_size must be at least 1"),
     ({"beam_width": -1}, "beam_width must be at least 1")],
)  # fmt: skip
def test_load_refuses_values_below_one(tmp_path, kwargs, message):
    from lprzoo.errors import LprzooError

    record = RecognizerRecord(arch="test-lightcrnn-tiny")
    path = save_recognizer(tmp_path / "tiny.safetensors", record.build(), record)
    with pytest.raises(LprzooError, match=message):
        lprzoo.load(str(path), **kwargs)


def test_empty_and_nan_images_are_refused_not_read(reader):
    """A 0x0 array or a NaN tensor once got a made-up reading ("川A"); now each is a one-line error."""
    from lprzoo.errors import LprzooError

    with pytest.raises(LprzooError, match="empty image"):
        reader(np.zeros((0, 0, 3), np.uint8))
    with pytest.raises(LprzooError, match="empty image"):
        reader(torch.zeros(3, 0, 0))
    with pytest.raises(LprzooError, match="NaN or infinite"):
        reader(torch.full((3, 48, 160), float("nan")))


def test_a_float_tensor_in_0_255_reads_as_its_uint8_twin(reader, plate_folder):
    """Floats above 1 are taken as 0-255 (not clamped to a white plate): they read as the uint8 image does."""
    path = sorted(plate_folder.glob("*.jpg"))[0]
    tensor = torch.from_numpy(np.asarray(Image.open(path).convert("RGB"))).permute(2, 0, 1)
    assert reader(tensor.float()).text == reader(tensor).text
    assert reader(tensor.float()).confidence == pytest.approx(reader(tensor).confidence)
    assert reader(tensor.float() / 255).text == reader(tensor).text


def test_an_unknown_runtime_is_refused_not_run_under_its_name(tmp_path):
    import lprzoo
    from lprzoo.errors import LprzooError
    from lprzoo.weights import RecognizerRecord, save_recognizer

    record = RecognizerRecord(arch="test-lightcrnn-tiny")
    weights = save_recognizer(tmp_path / "tiny.safetensors", record.build(), record)
    with pytest.raises(LprzooError, match="unknown runtime 'tensorrt'; use torch, onnx, onnx-int8"):
        lprzoo.load(str(weights), runtime="tensorrt")


def _tiny_reader(tmp_path, **record_args):
    torch.manual_seed(0)
    record = RecognizerRecord(arch="test-lightcrnn-tiny", beam_width=3, top_n=3, **record_args)
    path = save_recognizer(tmp_path / "tiny-kinds.safetensors", record.build(), record, dtype=torch.float32)
    return lprzoo.load(str(path), batch_size=4)


def test_a_model_with_a_kind_head_says_each_plates_kind(tmp_path, plate_folder):
    from lprzoo.kinds import COLOURS, ROWS

    readings = _tiny_reader(tmp_path, kind_head=True)(plate_folder)
    for r in readings:
        assert r.colour in COLOURS and r.kind.split("-")[0] == r.colour
        assert (r.kind.endswith("-double")) == (r.kind.split("-", 1)[-1] == ROWS[1])
        assert 0 < r.kind_confidence <= 1
    plain = _tiny_reader(tmp_path)(sorted(plate_folder.glob("*.jpg"))[0])
    assert plain.kind is None and plain.colour is None and plain.kind_confidence is None


def test_a_plates_readings_keep_to_the_kind_its_head_is_sure_of(tmp_path):
    """A blue plate whose CTC output spells eight characters (a green plate's length) reads as a blue plate: every
    alternative has seven characters; a head that is unsure leaves every spec open."""
    from lprzoo.kinds import COLOURS, ROWS
    from lprzoo.render.rules import plate_spec_of
    from tests.conftest import spelling_log_probs

    reader = _tiny_reader(tmp_path, kind_head=True, extra_chars="")
    text = "浙ADD3827"  # the green small-car pattern; as a blue plate one character too many
    log_probs = spelling_log_probs(text, reader.charset)  # (1, T, K)
    sure_blue = torch.tensor(
        [[9.0 if c == "blue" else 0.0 for c in COLOURS] + [9.0 if r == "single" else 0.0 for r in ROWS]]
    )
    unsure = torch.zeros_like(sure_blue)
    (blue,) = reader.decode(log_probs, top_n=3, kind_logits=sure_blue)
    (any_spec,) = reader.decode(log_probs, top_n=3, kind_logits=unsure)
    assert any_spec.text == text
    assert len(blue.text) == 7 and plate_spec_of(blue.text) == "blue"
    assert blue.topn and all(plate_spec_of(t, ("blue", "yellow")) for t, _ in blue.topn)


def test_a_crop_shaped_like_a_double_row_plate_is_also_read_with_its_rows_side_by_side(tmp_path):
    from lprzoo.batch import InputContract

    reader = _tiny_reader(tmp_path, input=InputContract(layout="rows"))
    seen = []
    forward = reader.net.forward
    reader.net.forward = lambda x, **kw: (seen.append(len(x)), forward(x, **kw))[1]
    rng = np.random.default_rng(0)
    tall = rng.integers(0, 255, (100, 200, 3), dtype=np.uint8)  # 2:1, the shape of a double-row plate
    wide = rng.integers(0, 255, (40, 160, 3), dtype=np.uint8)  # 4:1, a single row
    readings = reader([tall, wide])
    assert seen == [3]  # one pass: both plates whole, and the tall one split too
    assert readings[0].rows in ("single", "double") and readings[1].rows == "single"
    single = _tiny_reader(tmp_path, input=InputContract(layout="single"))
    assert single(tall).rows == "single"  # a record without the layout never splits


def test_write_stops_at_a_file_that_is_not_an_image_or_lists_it_for_review(reader, plate_folder, tmp_path):
    """A folder of photos with one broken file: ``write`` names it and the way on; with ``skip_invalid`` it reads the
    rest and puts the broken file, with no text, where a person looks (the review file, or the output without one)."""
    from lprzoo.errors import InvalidSampleError

    (plate_folder / "0000_broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(InvalidSampleError, match=r"0000_broken.jpg: corrupt or truncated image.*skip_invalid=True"):
        reader.write(plate_folder, tmp_path / "stop" / "plates.csv")
    images = len(list(plate_folder.glob("*.jpg"))) - 1
    output, review = reader.write(plate_folder, tmp_path / "plain" / "plates.csv", skip_invalid=True)
    rows = list(csv.DictReader(output.open(encoding="utf-8")))
    assert review is None and len(rows) == images + 1
    assert [(r["text"], r["confidence"]) for r in rows if r["file"].endswith("0000_broken.jpg")] == [("", "0.0")]
    reader.threshold = 0.5
    output, review = reader.write(plate_folder, tmp_path / "review" / "plates.csv", skip_invalid=True)
    broken = [r for r in csv.DictReader(review.open(encoding="utf-8")) if r["file"].endswith("0000_broken.jpg")]
    assert len(broken) == 1 and broken[0]["text"] == ""
    assert not any("broken" in r["file"] for r in csv.DictReader(output.open(encoding="utf-8")))


def test_write_shows_how_far_it_is(reader, plate_folder, tmp_path, monkeypatch):
    """A bulk read advances a progress bar (drawn in a terminal) once per image, unreadable ones included."""
    from rich.progress import Progress

    steps = []
    monkeypatch.setattr(Progress, "advance", lambda self, task, advance=1: steps.append(advance))
    (plate_folder / "0000_broken.jpg").write_bytes(b"not a jpeg")
    reader.write(plate_folder, tmp_path / "plates.csv", skip_invalid=True)
    assert sum(steps) == len(list(plate_folder.glob("*.jpg")))


def test_a_doubtful_plate_is_read_again_under_small_moves_and_the_text_they_find_most_probable_kept():
    """``reread_below``: a plate read ``皖A12345`` at ~0.6, whose moved views all read ``皖A12346``, reads
    ``皖A12346`` with the mean probability over the plate and its six views; above the cut, or with 0, it is read
    as before, with no extra pass."""
    from lprzoo.calibration import VIEWS
    from lprzoo.decode import text_probabilities
    from tests.conftest import TwoMinds

    record = RecognizerRecord(arch="test-lightcrnn-tiny", beam_width=5, top_n=3)
    net = TwoMinds(record.charset)
    first, second, still, moved = net.first, net.second, net.still, net.moved
    plate = torch.full((3, 48, 160), 200, dtype=torch.uint8)  # one plate, one reading

    plain = PlateReader(net, record)(plate)
    assert plain.text == first and 0.5 < plain.confidence < 0.9
    assert PlateReader(net, record, reread_below=0.5)(plate).text == first  # sure enough: not read again

    calls = []
    forward = net.forward
    net.forward = lambda x: (calls.append(len(x)), forward(x))[1]
    again = PlateReader(net, record, reread_below=0.9)(plate)
    assert calls == [1] * (1 + len(VIEWS))  # the plate, then each view once
    n_moved = sum(int(TwoMinds.is_moved(PlateReader.moved(plate[None], v).float() / 255)) for v in VIEWS)
    assert n_moved >= 4
    p_still, p_moved = (
        text_probabilities(lp[None].log_softmax(-1), [second], record.charset)[0] for lp in (still, moved)
    )
    assert again.text == second
    assert again.confidence == pytest.approx(((1 + len(VIEWS) - n_moved) * p_still + n_moved * p_moved) / 7, rel=1e-5)
    assert again.topn[0] == (second, again.confidence) and first in dict(again.topn)
    assert again.char_confidences == []  # another text than the plate's own best path
