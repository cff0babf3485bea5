"""Learning-rate schedules whose length comes from the trainer, never from a number in a recipe.

:class:`~lprzoo.recognize.module.CRNNModule` calls its ``lr_scheduler`` as ``lr_scheduler(optimizer, total_steps)``
with ``total_steps = trainer.estimated_stepping_batches``, so ``--trainer.max_epochs 80`` or
``--data.batch_size 16`` change the schedule's length instead of crashing it.  Any class taking
``(optimizer, total_steps, ...)`` fits; choose one by ``class_path``.
"""

from __future__ import annotations

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR, OneCycleLR


class OneCycle(OneCycleLR):
    """One-cycle (Smith 2018): warm up to ``max_lr`` over ``pct_start`` of the steps, then cosine-anneal to ~0.

    Args:
        optimizer: its learning rate is ``max_lr`` when ``max_lr`` is unset.
        total_steps: optimizer steps of the whole run (given by the module).
        max_lr: peak learning rate; default the optimizer's ``lr``.
        pct_start: fraction of the steps spent warming up.
        div_factor: initial lr = max_lr / div_factor.
        final_div_factor: final lr = initial lr / final_div_factor.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        total_steps: int,
        max_lr: float | None = None,
        pct_start: float = 0.15,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
    ) -> None:
        peak = max_lr if max_lr is not None else [group["lr"] for group in optimizer.param_groups]
        super().__init__(
            optimizer,
            max_lr=peak,
            total_steps=max(int(total_steps), 2),
            pct_start=pct_start,
            div_factor=div_factor,
            final_div_factor=final_div_factor,
        )


class WarmupCosine(LambdaLR):
    """Linear warm-up over ``warmup`` of the steps, then cosine decay to ``min_factor`` × the optimizer's lr."""

    def __init__(self, optimizer: Optimizer, total_steps: int, warmup: float = 0.05, min_factor: float = 0.01) -> None:
        total = max(int(total_steps), 1)
        warm = max(int(total * warmup), 1)

        def factor(step: int) -> float:
            if step < warm:
                return (step + 1) / warm
            t = min((step - warm) / max(total - warm, 1), 1.0)
            return min_factor + (1 - min_factor) * 0.5 * (1 + math.cos(math.pi * t))

        super().__init__(optimizer, factor)


class Constant(LambdaLR):
    """The optimizer's learning rate throughout (e.g. the paper's Adadelta, §III-B)."""

    def __init__(self, optimizer: Optimizer, total_steps: int) -> None:
        super().__init__(optimizer, lambda step: 1.0)
