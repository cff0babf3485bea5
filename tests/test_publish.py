"""``lprzoo publish-generator``: a CycleGAN checkpoint becomes a zoo generator that ``translate`` reads by name."""

import torch
import yaml

from lprzoo.cli import main
from lprzoo.hub import sha256_file, zoo_records
from lprzoo.refine.generators import load_generator
from lprzoo.weights import RecognizerRecord, save_recognizer
from tests.refine.test_translate import save_cyclegan


def test_a_generator_entry_is_measured_hashed_and_loads_by_name(tmp_path, plate_folder, monkeypatch):
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    monkeypatch.setenv("LPRZOO_ZOO", str(zoo))
    ckpt = save_cyclegan(tmp_path / "gan" / "epoch=003.ckpt", epoch=3)
    record = RecognizerRecord(arch="test-lightcrnn-tiny")
    reader = save_recognizer(tmp_path / "reader.safetensors", record.build(), record)
    args = ["publish-generator", "--ckpt_path", str(ckpt), "--name", "tinygan-blue"]
    args += ["--recipe", "recipes/cyclewgan.yaml", "--command", "lprzoo fit --config recipes/cyclewgan.yaml"]
    args += ["--real", str(plate_folder), "--reader", str(reader), "--n", "16", "--zoo", str(zoo)]
    assert main(args) == 0
    entry = yaml.safe_load((zoo / "tinygan-blue.yaml").read_text(encoding="utf-8"))
    weights = zoo / entry["weights"]["file"]
    assert entry["kind"] == "generator" and sha256_file(weights) == entry["weights"]["sha256"]
    assert entry["file_size"] == weights.stat().st_size
    assert entry["data"]["sources"]["real"]["count"] == len(list(plate_folder.glob("*.jpg")))
    translation = entry["metrics"]["translation"]
    assert set(translation) == {"renders", "translated"} and {"RA", "FD", "colour_kept"} <= set(translation["renders"])
    assert zoo_records()["tinygan-blue"].kind == "generator"
    G, original = load_generator("tinygan-blue"), load_generator(ckpt)
    assert entry["num_params"] == sum(p.numel() for p in G.parameters())
    x = torch.rand(2, 3, 48, 160) * 2 - 1
    assert torch.allclose(G(x), original(x), atol=2e-2)  # fp16 storage of the same generator
    from lprzoo.zoo_table import zoo_details, zoo_markdown

    assert "| tinygan-blue | generator |" in zoo_markdown()
    assert "unlabelled images" in zoo_details() and "colour kept blue" in zoo_details()


def test_a_model_with_extra_characters_is_described_by_its_own_data(tmp_path):
    """publish reads the model's data in the model's charset: '京A1234警' was refused as outside the default one."""
    from PIL import Image

    from lprzoo.charset import Charset
    from lprzoo.publish import describe_data

    (tmp_path / "data").mkdir()
    for label in ("京A1234警", "沪B12345"):
        Image.new("RGB", (160, 48)).save(tmp_path / "data" / f"{label}.jpg")
    described = describe_data({"train": str(tmp_path / "data")}, Charset("警"))
    assert described["train"]["count"] == 2 and len(described["train"]["labels_sha256"]) == 64
