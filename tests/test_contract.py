"""The input contract travels with the weights and every path applies it (:class:`lprzoo.batch.InputContract`).

A model saved with an unusual contract (48 x 192, no normalisation) is read, evaluated, calibrated, exported,
benchmarked and explained at that size and with that normalisation, never at the default 48 x 160.
"""

from __future__ import annotations

import onnx
import pytest
import torch

import lprzoo
from lprzoo.batch import INPUT, InputContract
from lprzoo.weights import RecognizerRecord, load_recognizer, save_recognizer
from tests.conftest import write_plates

UNUSUAL = InputContract(height=48, width=192, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))


@pytest.fixture
def unusual(tmp_path):
    assert UNUSUAL.size != INPUT.size and UNUSUAL.mean != INPUT.mean
    record = RecognizerRecord(arch="test-lightcrnn-tiny", input=UNUSUAL)
    return save_recognizer(tmp_path / "unusual.safetensors", record.build(), record, dtype=torch.float32)


def _shapes_seen(net: torch.nn.Module) -> list[tuple[int, ...]]:
    seen: list[tuple[int, ...]] = []
    net.register_forward_pre_hook(lambda module, args: seen.append(tuple(args[0].shape)))
    return seen


def test_the_network_normalises_as_its_record_says(unusual):
    net, record = load_recognizer(unusual)
    assert record.input == UNUSUAL
    assert net.mean.flatten().tolist() == [0.0, 0.0, 0.0] and net.std.flatten().tolist() == [1.0, 1.0, 1.0]


def test_the_reader_evaluation_and_calibration_read_at_the_record_size(unusual, tmp_path):
    from lprzoo.calibrate import fit_calibration
    from lprzoo.evaluate import evaluate, labelled_images

    write_plates(tmp_path / "plates", 4, size=(160, 48))
    reader = lprzoo.load(str(unusual))
    seen = _shapes_seen(reader.net)
    reader(sorted((tmp_path / "plates").glob("*.jpg")))  # files of another size: resized to the contract
    reader(torch.zeros(3, 48, 160, dtype=torch.uint8))  # a tensor of another size, likewise
    images, labels = labelled_images(tmp_path / "plates", reader.record)
    assert tuple(images.shape[-2:]) == UNUSUAL.size
    evaluate(reader, images, labels)
    fit_calibration(reader, images, labels)
    assert seen and all(shape[-2:] == UNUSUAL.size for shape in seen)


def test_export_benchmark_and_explain_use_the_record_size(unusual, tmp_path):
    from lprzoo.benchmark import time_reader
    from lprzoo.explain import explain
    from lprzoo.export import export

    path = export(str(unusual), str(tmp_path / "unusual.onnx"), check="none")
    dims = onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims[1:]] == [3, *UNUSUAL.size]
    onnx_reader = lprzoo.load(str(path))
    assert onnx_reader.record.input == UNUSUAL
    torch_reader = lprzoo.load(str(unusual))
    plates = torch.randint(0, 255, (3, 3, 48, 192), dtype=torch.uint8)
    assert [r.text for r in torch_reader(plates)] == [r.text for r in onnx_reader(plates)]
    seen = _shapes_seen(torch_reader.net)
    time_reader(torch_reader, batch=2, threads=1, repeats=1, min_seconds=0.0)
    assert all(shape[-2:] == UNUSUAL.size for shape in seen)
    write_plates(tmp_path / "plates", 1, size=(160, 48))
    explain(str(tmp_path / "plates"), model=str(unusual), out=str(tmp_path / "explained"))
    steps = torch_reader.logits(plates[:1]).shape[1]  # 48 time steps at width 192, 40 at 160
    assert steps == 48


def test_an_int8_export_is_calibrated_at_the_record_size(unusual, tmp_path):
    from lprzoo.export import export

    path = export(str(unusual), str(tmp_path / "unusual-int8.onnx"), int8=True, check="none", calibration_size=16)
    reading = lprzoo.load(str(path))(torch.zeros(3, 48, 192, dtype=torch.uint8))
    assert isinstance(reading.text, str)


def test_a_model_is_trained_at_the_contract_its_record_carries(tmp_path):
    """`--data.contract` is linked to the model: the batches, the checkpoint's record and the reader all use it."""
    from lprzoo.cli import run_cli
    from lprzoo.data.real import RealPlatesDataModule

    write_plates(tmp_path / "plates", 8, size=(160, 48))
    folder = str(tmp_path / "plates")
    contract = '{"height": 48, "width": 192, "mean": [0, 0, 0], "std": [1, 1, 1]}'
    cli = run_cli(["fit", "--model", "lprzoo.CRNNModule", "--model.arch", "test-lightcrnn-tiny",
                   "--data", "lprzoo.RealPlatesDataModule", "--data.train", folder, "--data.val", folder,
                   "--data.contract", contract, "--data.num_workers", "0", "--data.batch_size", "4",
                   "--data.augment", "null", "--trainer.max_steps", "1", "--trainer.limit_val_batches", "1",
                   "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
                   "--trainer.default_root_dir", str(tmp_path / "run")])  # fmt: skip
    assert isinstance(cli.datamodule, RealPlatesDataModule)
    assert tuple(cli.datamodule.datasets["train"].images.shape[-2:]) == UNUSUAL.size
    assert cli.model.model.mean.flatten().tolist() == [0.0, 0.0, 0.0]  # trained with the contract's normalisation
    reader = lprzoo.load(str(tmp_path / "run" / "checkpoints" / "last.ckpt"))
    assert reader.record.input.size == UNUSUAL.size and reader.record.input.std == (1.0, 1.0, 1.0)
    seen = _shapes_seen(reader.net)
    reader(sorted((tmp_path / "plates").glob("*.jpg"))[:2])
    assert seen and all(shape[-2:] == UNUSUAL.size for shape in seen)
