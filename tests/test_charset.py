import pytest

from lprzoo.charset import BLANK, Charset, CharsetMismatchError, UnknownCharacterError


def test_default_is_the_papers_68_classes():
    cs = Charset()
    assert cs.num_classes == 68
    assert len(cs.chars) == 67


def test_encode_decode_roundtrip():
    cs = Charset()
    idx = cs.encode("京A12345")
    assert BLANK not in idx
    assert cs.decode(idx) == "京A12345"


def test_encode_batch_pads_with_blank():
    targets, lengths = Charset().encode_batch(["皖AD11166", "京A12345"])
    assert targets.shape == (2, 8)
    assert lengths.tolist() == [8, 7]
    assert targets[1, 7] == BLANK


def test_unknown_character_is_a_clear_error():
    with pytest.raises(UnknownCharacterError, match="警"):
        Charset().encode("京A1234警")


def test_extension_by_config_keeps_default_indices():
    base, ext = Charset(), Charset("警学挂港澳使领")
    assert ext.num_classes == 75
    assert ext.encode("京A12345") == base.encode("京A12345")
    assert ext.decode(ext.encode("粤B1234港")) == "粤B1234港"


def test_duplicate_extra_chars_rejected():
    with pytest.raises(ValueError, match="repeats"):
        Charset("京")


def test_mismatch_is_a_clear_error():
    with pytest.raises(CharsetMismatchError, match="extra_chars"):
        Charset().check_compatible(Charset("警"), "the data")
