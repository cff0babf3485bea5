"""Training augmentation must never mirror a plate: a mirrored 7 is not a 7."""

import torch

from lprzoo.data.augment import PlateAugment


def test_augmentation_never_mirrors():
    # left half dark, right half bright: any horizontal flip swaps which side is brighter
    image = torch.zeros(3, 48, 160, dtype=torch.uint8)
    image[:, :, 80:] = 220
    augment = PlateAugment(p_erase=0.0, p_grayscale=0.0)
    torch.manual_seed(0)
    for _ in range(200):
        out = augment(image).float()
        assert out[:, :, :60].mean() < out[:, :, 100:].mean()


def test_no_flip_transform_in_the_pipeline():
    from torchvision.transforms import v2

    names = {type(t).__name__ for t in PlateAugment().transform.transforms}
    assert not names & {v2.RandomHorizontalFlip.__name__, v2.RandomVerticalFlip.__name__}
