import pytest
import torch

from lprzoo.charset import CharsetMismatchError
from lprzoo.recognize.module import CRNNModule


def save_tiny_checkpoint_of(module, path, **extra):
    ckpt = {"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams), **extra}
    module.on_save_checkpoint(ckpt)
    torch.save(ckpt, path)
    return path


def save_tiny_checkpoint(path, extra_chars=""):
    module = CRNNModule(arch="test-lightcrnn-tiny", extra_chars=extra_chars)
    save_tiny_checkpoint_of(module, path)
    return module


def test_init_from_loads_weights_when_fit_starts(tmp_path):
    source = save_tiny_checkpoint(tmp_path / "pre.ckpt")
    module = CRNNModule(arch="test-lightcrnn-tiny", init_from=str(tmp_path / "pre.ckpt"))
    assert not torch.equal(module.model.head.fc.weight, source.model.head.fc.weight)
    module.setup("fit")
    loaded, expected = module.model.state_dict(), source.model.state_dict()
    assert all(torch.equal(loaded[k], expected[k]) for k in expected)


def test_init_from_missing_names_the_command(tmp_path):
    module = CRNNModule(arch="test-lightcrnn-tiny", init_from=str(tmp_path / "none.ckpt"))
    with pytest.raises(FileNotFoundError, match="train it first"):
        module.setup("fit")


def test_init_from_other_charset_is_refused(tmp_path):
    save_tiny_checkpoint(tmp_path / "pre.ckpt", extra_chars="警")
    with pytest.raises(CharsetMismatchError):
        CRNNModule(arch="test-lightcrnn-tiny", init_from=str(tmp_path / "pre.ckpt")).setup("fit")


def test_checkpoint_of_another_charset_refused_on_load():
    module = CRNNModule(arch="test-lightcrnn-tiny")
    with pytest.raises(CharsetMismatchError, match="警"):
        module.on_load_checkpoint({"charset": module.charset.chars + "警"})


def test_forward_returns_log_probabilities():
    module = CRNNModule(arch="test-lightcrnn-tiny").eval()
    log_probs = module(torch.rand(2, 3, 48, 160))
    assert log_probs.shape == (2, 40, 68)
    assert torch.allclose(log_probs.exp().sum(-1), torch.ones(2, 40), atol=1e-5)


def test_typed_architecture_record_round_trips_to_an_equal_model(tmp_path):
    from lprzoo.recognize.crnn import LightCRNNArch
    from lprzoo.weights import load_recognizer

    module = CRNNModule(arch=LightCRNNArch(width_mult=0.25, hidden=8))
    assert (module.hparams.arch, module.hparams.arch_kwargs) == ("lightcrnn", {"width_mult": 0.25, "hidden": 8})
    save_tiny_checkpoint_of(module, tmp_path / "typed.ckpt")
    net, record = load_recognizer(tmp_path / "typed.ckpt")  # weights_only: the record is plain data
    assert (record.arch, record.arch_kwargs) == ("lightcrnn", {"width_mult": 0.25, "hidden": 8})
    expected = module.model.state_dict()
    assert net.state_dict().keys() == expected.keys()
    assert all(torch.equal(v, expected[k]) for k, v in net.state_dict().items())
    images = torch.rand(2, 3, 48, 160)
    assert torch.allclose(net(images), module.eval().model(images), atol=1e-6)


def test_registered_names_keep_their_records():
    from lprzoo.recognize.crnn import LightCRNNArch

    assert CRNNModule().hparams.arch == "lightcrnn-1.2" and CRNNModule().hparams.arch_kwargs == {}  # zoo records
    assert LightCRNNArch(width_mult=1.0).registry_call() == ("lightcrnn-1.0", {})
    assert CRNNModule(arch="lightcrnn").hparams.arch == "lightcrnn"  # a name is kept as given


def test_init_from_accepts_the_same_network_under_another_name(tmp_path):
    """``test-lightcrnn-tiny`` and ``lightcrnn`` with its width and hidden size are one network; another is refused."""
    from lprzoo.errors import CheckpointError
    from lprzoo.recognize.crnn import LightCRNNArch

    source = save_tiny_checkpoint(tmp_path / "pre.ckpt")
    module = CRNNModule(arch=LightCRNNArch(width_mult=0.125, hidden=16), init_from=str(tmp_path / "pre.ckpt"))
    module.setup("fit")
    assert torch.equal(module.model.head.fc.weight, source.model.head.fc.weight)
    other = CRNNModule(arch=LightCRNNArch(width_mult=0.25, hidden=16), init_from=str(tmp_path / "pre.ckpt"))
    with pytest.raises(CheckpointError, match=r"is a test-lightcrnn-tiny but the model is lightcrnn .*0\.25") as e:
        other.setup("fit")
    assert "\n" not in str(e.value)


def test_load_from_checkpoint_rebuilds_the_saved_architecture(tmp_path):
    """Lightning passes ``arch`` but drops ``arch_kwargs`` (no argument): the checkpoint's network still comes back."""
    import lightning

    from lprzoo.recognize.crnn import LightCRNNArch

    module = CRNNModule(arch=LightCRNNArch(width_mult=0.25, hidden=8))
    version = {"pytorch-lightning_version": lightning.__version__}
    path = save_tiny_checkpoint_of(module, tmp_path / "typed.ckpt", **version)
    loaded = CRNNModule.load_from_checkpoint(path, weights_only=True)
    assert (loaded.hparams.arch, loaded.hparams.arch_kwargs) == ("lightcrnn", {"width_mult": 0.25, "hidden": 8})
    expected = module.model.state_dict()
    assert all(torch.equal(v, expected[k]) for k, v in loaded.model.state_dict().items())


def test_init_from_a_smaller_alphabet_keeps_its_classes_and_adds_a_kind_head(tmp_path):
    source = save_tiny_checkpoint(tmp_path / "pre.ckpt")  # the paper's 68 classes, no kind head
    module = CRNNModule(
        arch="test-lightcrnn-tiny", extra_chars="警学", kind_head=True, init_from=str(tmp_path / "pre.ckpt")
    )
    module.setup("fit")
    grown, old = module.model.head.fc.weight, source.model.head.fc.weight
    assert grown.shape[0] == old.shape[0] + 2 and torch.equal(grown[: old.shape[0]], old)
    backbone, expected = module.model.backbone.state_dict(), source.model.backbone.state_dict()
    assert all(torch.equal(backbone[k], expected[k]) for k in expected)
    assert module.model.kind_head is not None


def test_the_kind_loss_counts_only_the_items_whose_kind_is_known():
    from lprzoo.batch import PlateCollate
    from lprzoo.charset import Charset

    torch.manual_seed(0)
    module = CRNNModule(arch="test-lightcrnn-tiny", kind_head=True)
    images = torch.randint(0, 255, (3, 3, 48, 160), dtype=torch.uint8)
    kinds = iter([(0, 0), (1, 0), (-1, -1)])
    batch = PlateCollate(Charset(), lambda *_: next(kinds))([(im, "皖A12345", "x") for im in images])
    _, kind_logits = module.forward_with_kind(batch.images)
    loss = module.kind_loss(kind_logits, batch)
    colour = torch.nn.functional.cross_entropy(kind_logits[:2, :5], batch.kinds[:2, 0])
    rows = torch.nn.functional.cross_entropy(kind_logits[:2, 5:], batch.kinds[:2, 1])
    assert torch.isclose(loss, colour + rows)
    assert module.training_step(batch, 0) > module.ctc_loss(module(batch.images), batch)


def test_the_confidence_penalty_lowers_the_loss_of_pseudo_labelled_items_only():
    """``pseudo_confidence_penalty`` subtracts its weight times the mean per-step entropy of a batch's
    pseudo-labelled items (paths ``pseudo:...``); a batch without any trains exactly as before."""
    from lprzoo.batch import PlateCollate
    from lprzoo.charset import Charset
    from lprzoo.losses import frame_entropy

    torch.manual_seed(0)
    plain = CRNNModule(arch="test-lightcrnn-tiny").eval()  # eval: batch norm on running statistics, one function
    penalised = CRNNModule(arch="test-lightcrnn-tiny", pseudo_confidence_penalty=0.5).eval()
    penalised.load_state_dict(plain.state_dict())
    images = torch.randint(0, 255, (3, 3, 48, 160), dtype=torch.uint8)
    collate = PlateCollate(Charset())
    mixed = collate([(im, "皖A12345", p) for im, p in zip(images, ["a.jpg", "pseudo:b.jpg", "pseudo:c.jpg"])])
    real = collate([(im, "皖A12345", "a.jpg") for im in images])
    entropy = frame_entropy(plain(mixed.images)[1:]).mean()
    assert entropy > 0
    assert torch.isclose(penalised.training_step(mixed, 0), plain.training_step(mixed, 0) - 0.5 * entropy)
    assert torch.isclose(penalised.training_step(real, 0), plain.training_step(real, 0))


def test_test_top_n_keeps_to_the_kind_its_head_is_sure_of():
    """``lprzoo test`` and the reader give the same top-N: a plate the kind head is sure is blue reads as a blue
    plate even where its CTC output spells a green plate's eight characters."""
    from lprzoo.kinds import COLOURS, ROWS
    from lprzoo.render.rules import plate_spec_of
    from tests.conftest import spelling_log_probs

    module = CRNNModule(arch="test-lightcrnn-tiny", kind_head=True, beam_width=5, top_n=(3,))
    text = "浙ADD3827"  # the green small-car pattern; as a blue plate one character too many
    log_probs = spelling_log_probs(text, module.charset)  # (1, T, K)
    sure_blue = torch.tensor(
        [[9.0 if c == "blue" else 0.0 for c in COLOURS] + [9.0 if r == "single" else 0.0 for r in ROWS]]
    )
    (blue,) = module.decode(log_probs, kind_logits=sure_blue)
    (any_spec,) = module.decode(log_probs, kind_logits=torch.zeros_like(sure_blue))
    assert any_spec.text == text
    assert len(blue.text) == 7 and all(plate_spec_of(t, ("blue", "yellow")) for t, _ in blue.topn)
