"""The pool of past fakes ([44]'s ImagePool)."""

import torch

from lprzoo.refine import ImagePool


def images(start: int, n: int) -> torch.Tensor:
    return torch.arange(start, start + n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 3, 2, 2).clone()


def test_fills_first_then_returns_past_images_half_of_the_time():
    pool = ImagePool(4, generator=torch.Generator().manual_seed(0))
    first = images(0, 4)
    assert torch.equal(pool.query(first), first) and len(pool) == 4  # filling: returned as is
    seen, past = set(range(4)), 0
    for i in range(4, 2004):
        (out,) = pool.query(images(i, 1))[:, 0, 0, 0].tolist()
        assert out == i or out in seen  # either the new image or one stored earlier
        past += out != i
        seen.add(i)
        assert len(pool) == 4
    assert 0.45 < past / 2000 < 0.55


def test_size_zero_disables_the_pool():
    x = images(0, 3).requires_grad_(True)
    out = ImagePool(0).query(x)
    assert torch.equal(out, x) and not out.requires_grad and len(ImagePool(0)) == 0
