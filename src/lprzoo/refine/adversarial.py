"""Adversarial strategies: how a discriminator and a generator are scored and optimised (paper §III-A).

One class per strategy, chosen in a recipe by ``class_path``; a new strategy is one new subclass of
:class:`AdversarialStrategy` and nothing else::

    model:
      class_path: lprzoo.refine.CycleGANModule
      init_args:
        strategy:
          class_path: lprzoo.refine.WGAN     # CycleWGAN: Eq. 8, 5 critic steps, clipping, RMSProp
          init_args: {lr: 5.0e-5}

A strategy owns its optimisers' hyper-parameters because they belong to the method: WGAN's fourth modification
is "use RMSProp instead of Adam", and WGAN-GP's Adam betas differ from CycleGAN's.  A recipe therefore switches
method with one ``class_path`` instead of three coordinated edits.

Scores are raw discriminator outputs of any shape (PatchGAN maps ``(B, 1, H', W')`` or logits ``(B, 1)``); the
expectations of the paper's equations are means over every element.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
import torch.nn.functional as nnf
from torch import Tensor, nn

Params = Iterable[nn.Parameter]
Optimizers = tuple[torch.optim.Optimizer, torch.optim.Optimizer]  # (generators', discriminators')


class AdversarialStrategy:
    """Base class: losses, optional penalty, critic steps per generator step, weight clipping and optimisers.

    Args:
        n_critic: discriminator (critic) updates per generator update (WGAN's ``d_iter``).
        clip_value: after every critic update, clamp every discriminator parameter to ``[-clip_value,
            clip_value]``; ``None`` disables clipping.
    """

    def __init__(self, n_critic: int = 1, clip_value: float | None = None) -> None:
        if n_critic < 1:
            raise ValueError(f"n_critic must be >= 1, got {n_critic}")
        if clip_value is not None and clip_value <= 0:
            raise ValueError(f"clip_value must be positive or None, got {clip_value}")
        self.n_critic = n_critic
        self.clip_value = clip_value

    def d_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        """The loss the discriminator minimises, from its scores on real and on generated images."""
        raise NotImplementedError

    def g_loss(self, fake_scores: Tensor) -> Tensor:
        """The adversarial loss the generator minimises, from the discriminator's scores on its images."""
        raise NotImplementedError

    def penalty(self, discriminator: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        """An extra discriminator loss term computed from images (e.g. a gradient penalty); none by default."""
        return real.new_zeros(())

    @torch.no_grad()
    def clip_(self, discriminator: nn.Module) -> None:
        """Clamp the discriminator's parameters in place after a critic step (WGAN's Lipschitz constraint)."""
        if self.clip_value is not None:
            for p in discriminator.parameters():
                p.clamp_(-self.clip_value, self.clip_value)

    def make_optimizers(self, g_params: Params, d_params: Params) -> Optimizers:
        """The generators' and the discriminators' optimisers, in that order."""
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class _Adam(AdversarialStrategy):
    """Shared by the strategies optimised with Adam (the same settings for G and D)."""

    def __init__(self, lr: float, betas: tuple[float, float], n_critic: int, clip_value: float | None = None) -> None:
        super().__init__(n_critic, clip_value)
        self.lr = lr
        self.betas = tuple(betas)

    def make_optimizers(self, g_params: Params, d_params: Params) -> Optimizers:
        return (
            torch.optim.Adam(g_params, lr=self.lr, betas=self.betas),
            torch.optim.Adam(d_params, lr=self.lr, betas=self.betas),
        )


class LSGAN(_Adam):
    """Least-squares GAN, CycleGAN's adversarial loss (Eq. 2), with [44]'s Adam (lr 2e-4, betas (0.5, 0.999)).

    ``d_loss = ½ (E[(D(r) − 1)²] + E[D(G(s))²])``: Eq. 2, halved as in [44]'s ``backward_D_basic`` "to slow down
    the rate at which D learns relative to G".  ``g_loss = E[(D(G(s)) − 1)²]``: the generator pushes its scores
    towards the "real" target, the least-squares form [44] implements for "G tries to minimize (2)".
    """

    def __init__(self, lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.999), n_critic: int = 1) -> None:
        super().__init__(lr, betas, n_critic)

    def d_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        return 0.5 * ((real_scores - 1).square().mean() + fake_scores.square().mean())

    def g_loss(self, fake_scores: Tensor) -> Tensor:
        return (fake_scores - 1).square().mean()


class WGAN(AdversarialStrategy):
    """Wasserstein GAN (Arjovsky et al. [3]), the paper's CycleWGAN (§III-A, Eq. 8 and its four modifications).

    1. the critic maximises Eq. 8, ``E[D(r)] − E[D(G(s))]``: ``d_loss = E[D(G(s))] − E[D(r)]``, and the
       generator minimises ``g_loss = −E[D(G(s))]``;
    2. ``n_critic`` (``d_iter``, 5 in §IV-C) critic updates before each generator update;
    3. every critic parameter clamped to ``[−0.01, 0.01]`` after each update;
    4. RMSProp (lr 5e-5, [3]'s setting) instead of Adam.
    """

    def __init__(self, lr: float = 5e-5, n_critic: int = 5, clip_value: float | None = 0.01) -> None:
        super().__init__(n_critic, clip_value)
        self.lr = lr

    def d_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        return fake_scores.mean() - real_scores.mean()

    def g_loss(self, fake_scores: Tensor) -> Tensor:
        return -fake_scores.mean()

    def make_optimizers(self, g_params: Params, d_params: Params) -> Optimizers:
        return torch.optim.RMSprop(g_params, lr=self.lr), torch.optim.RMSprop(d_params, lr=self.lr)


class WGANGP(_Adam):
    """WGAN with a gradient penalty instead of clipping (Gulrajani et al. 2017; not in the paper, a common fix).

    Losses as :class:`WGAN` (Eq. 8) plus ``λ E[(‖∇x̂ D(x̂)‖₂ − 1)²]`` on random interpolates
    ``x̂ = ε r + (1 − ε) G(s)``, with Adam (lr 1e-4, betas (0.5, 0.9)) and 5 critic steps, as in that paper.

    For a PatchGAN the critic value of an image is the mean of its patch scores (the quantity Eq. 8 averages), so
    the penalty constrains the gradient of that mean.

    Args:
        gp_weight: λ (10 in Gulrajani et al.).
    """

    def __init__(
        self, lr: float = 1e-4, betas: tuple[float, float] = (0.5, 0.9), n_critic: int = 5, gp_weight: float = 10.0
    ) -> None:
        super().__init__(lr, betas, n_critic)
        self.gp_weight = gp_weight

    def d_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        return fake_scores.mean() - real_scores.mean()

    def g_loss(self, fake_scores: Tensor) -> Tensor:
        return -fake_scores.mean()

    def penalty(self, discriminator: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        eps = torch.rand(real.shape[0], *[1] * (real.dim() - 1), device=real.device, dtype=real.dtype)  # (B, 1, 1, 1)
        x = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)  # (B, C, H, W)
        with torch.enable_grad():
            scores = discriminator(x).flatten(1).mean(1)  # (B,): one critic value per image
            (grad,) = torch.autograd.grad(scores.sum(), x, create_graph=True)  # (B, C, H, W)
        return self.gp_weight * (grad.flatten(1).norm(2, dim=1) - 1).square().mean()


class GAN(_Adam):
    """The original, non-saturating GAN loss (binary cross-entropy on logits), used by DCGAN (§IV-D, [27]).

    ``d_loss = −E[log σ(D(r))] − E[log(1 − σ(D(G(z))))]``, ``g_loss = −E[log σ(D(G(z)))]``; Adam as in [27]
    (lr 2e-4, betas (0.5, 0.999)).
    """

    def __init__(self, lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.999), n_critic: int = 1) -> None:
        super().__init__(lr, betas, n_critic)

    def d_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        return nnf.softplus(-real_scores).mean() + nnf.softplus(fake_scores).mean()

    def g_loss(self, fake_scores: Tensor) -> Tensor:
        return nnf.softplus(-fake_scores).mean()


def adversarial_step(
    module,
    strategy: AdversarialStrategy,
    batch_idx: int,
    critics: Sequence[nn.Module],
    make_fakes: Callable[[], Any],
    critic_losses: Callable[[Any], dict[str, Tensor]],
    generator_losses: Callable[[Any], dict[str, Tensor]],
    batch_size: int,
) -> None:
    """One training step of any of the GANs (CycleGAN, CUT, DCGAN) under Lightning's manual optimisation.

    The critics learn every step; the generators every ``strategy.n_critic``-th (WGAN's 5 critic steps per generator
    step, §III-A), so on critic-only steps the fakes are made without a graph.  Each side's losses are summed,
    back-propagated and stepped, the critics then clipped by the strategy (WGAN), and every loss logged as
    ``train/<name>``, the generators' sum as ``train/G``.

    Args:
        module: the LightningModule; its ``optimizers()`` are ``(generators', critics')``.
        critics: the discriminators the strategy clips.
        make_fakes: the generators' outputs for this batch.
        critic_losses: fakes -> the critics' losses (fakes detached inside, as needed).
        generator_losses: fakes -> the generators' losses.
    """
    opt_g, opt_d = module.optimizers()
    generator_step = (batch_idx + 1) % strategy.n_critic == 0
    with torch.set_grad_enabled(generator_step):  # critic-only batches need no graph through the generators
        fakes = make_fakes()
    with module.toggled_optimizer(opt_d):
        losses = critic_losses(fakes)
        module.manual_backward(sum(losses.values()))
        opt_d.step()
        opt_d.zero_grad()
        for critic in critics:
            strategy.clip_(critic)
    module.log_dict({f"train/{k}": v.detach() for k, v in losses.items()}, prog_bar=True, batch_size=batch_size)
    if not generator_step:
        return
    with module.toggled_optimizer(opt_g):
        losses = generator_losses(fakes)
        total = sum(losses.values())
        module.manual_backward(total)
        opt_g.step()
        opt_g.zero_grad()
    module.log("train/G", total.detach(), prog_bar=True, batch_size=batch_size)
    module.log_dict({f"train/{k}": v.detach() for k, v in losses.items()}, batch_size=batch_size)
