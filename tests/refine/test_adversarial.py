"""Adversarial strategies: the paper's equations on hand-made scores, clipping, gradient penalty, optimisers."""

import math

import pytest
import torch
from torch import nn

from lprzoo.refine import GAN, LSGAN, WGAN, WGANGP, AdversarialStrategy, PatchDiscriminator

REAL = torch.tensor([[1.0, 0.0], [3.0, 0.0]])  # scores of a (2, 2) "patch map"
FAKE = torch.tensor([[0.0, 1.0], [-1.0, 2.0]])


def test_lsgan_is_eq2_with_reference_halving():
    # Eq. 2: E[(D(r) - 1)^2] + E[D(G(s))^2] = mean(0, 1, 4, 1) + mean(0, 1, 1, 4) = 1.5 + 1.5; [44] halves it.
    assert LSGAN().d_loss(REAL, FAKE).item() == pytest.approx(0.5 * (1.5 + 1.5))
    # G pushes its scores to the "real" target 1: mean((0-1)^2, 0, 4, 1) = 1.5
    assert LSGAN().g_loss(FAKE).item() == pytest.approx(1.5)
    assert LSGAN().d_loss(torch.ones(4), torch.zeros(4)).item() == 0  # a perfect discriminator


@pytest.mark.parametrize("strategy", [WGAN(), WGANGP()])
def test_wasserstein_losses_are_eq8(strategy):
    eq8 = REAL.mean() - FAKE.mean()  # E[D(r)] - E[D(G(s))] = 1 - 0.5
    assert strategy.d_loss(REAL, FAKE).item() == pytest.approx(-eq8.item())  # the critic maximises Eq. 8
    assert strategy.g_loss(FAKE).item() == pytest.approx(-0.5)  # G maximises E[D(G(s))]


def test_gan_is_binary_cross_entropy_on_logits():
    zero = torch.zeros(3)
    assert GAN().d_loss(zero, zero).item() == pytest.approx(2 * math.log(2))
    assert GAN().g_loss(zero).item() == pytest.approx(math.log(2))
    assert GAN().d_loss(torch.full((3,), 20.0), torch.full((3,), -20.0)).item() == pytest.approx(0, abs=1e-6)


def test_paper_settings():
    assert (LSGAN().n_critic, LSGAN().clip_value) == (1, None)
    assert (WGAN().n_critic, WGAN().clip_value) == (5, 0.01)
    assert (WGANGP().n_critic, WGANGP().clip_value, WGANGP().gp_weight) == (5, None, 10.0)
    kinds = {}
    for strategy in (LSGAN(), WGAN(), WGANGP()):
        opt_g, opt_d = strategy.make_optimizers([nn.Parameter(torch.zeros(1))], [nn.Parameter(torch.zeros(1))])
        kinds[type(strategy).__name__] = (type(opt_d).__name__, opt_d.defaults["lr"], opt_d.defaults.get("betas"))
        assert type(opt_g) is type(opt_d) and opt_g.defaults["lr"] == opt_d.defaults["lr"]
    assert kinds == {
        "LSGAN": ("Adam", 2e-4, (0.5, 0.999)),
        "WGAN": ("RMSprop", 5e-5, None),
        "WGANGP": ("Adam", 1e-4, (0.5, 0.9)),
    }


def test_wgan_clipping_bounds_every_weight_after_a_critic_step():
    strategy, d = WGAN(lr=0.1), PatchDiscriminator(ndf=8)
    assert max(p.abs().max() for p in d.parameters()) > 0.01  # N(0, 0.02) init exceeds the box
    _, opt_d = strategy.make_optimizers([nn.Parameter(torch.zeros(1))], d.parameters())
    real, fake = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    strategy.d_loss(d(real), d(fake)).backward()
    opt_d.step()
    strategy.clip_(d)
    weights = torch.cat([p.flatten() for p in d.parameters()])
    assert weights.abs().max() <= 0.01 and (weights.abs() == 0.01).any()


def test_clip_is_a_no_op_without_clip_value():
    d = PatchDiscriminator(ndf=4)
    before = [p.clone() for p in d.parameters()]
    LSGAN().clip_(d)
    assert all(torch.equal(a, b) for a, b in zip(before, d.parameters()))


def linear_critic(grad_norm: float) -> nn.Module:
    critic = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 1))
    with torch.no_grad():
        w = torch.randn(1, 3 * 4 * 4)
        critic[1].weight.copy_(w / w.norm() * grad_norm)  # the gradient of x -> w·x + b is w everywhere
    return critic


def test_gradient_penalty_vanishes_for_a_1_lipschitz_linear_critic():
    real, fake = torch.randn(5, 3, 4, 4), torch.randn(5, 3, 4, 4)
    assert WGANGP().penalty(linear_critic(1.0), real, fake).item() == pytest.approx(0, abs=1e-8)
    steep = linear_critic(3.0)
    penalty = WGANGP().penalty(steep, real, fake)
    assert penalty.item() == pytest.approx(10 * (3 - 1) ** 2, rel=1e-4)  # λ (‖∇‖ − 1)²
    penalty.backward()  # differentiable w.r.t. the critic's weights
    assert steep[1].weight.grad is not None and steep[1].weight.grad.abs().sum() > 0


def test_other_strategies_have_no_penalty():
    d, x = PatchDiscriminator(ndf=4), torch.zeros(1, 3, 32, 32)
    assert LSGAN().penalty(d, x, x).item() == 0 and WGAN().penalty(d, x, x).item() == 0


def test_a_new_strategy_is_one_subclass():
    class Hinge(AdversarialStrategy):
        def d_loss(self, real_scores, fake_scores):
            return (1 - real_scores).relu().mean() + (1 + fake_scores).relu().mean()

        def g_loss(self, fake_scores):
            return -fake_scores.mean()

        def make_optimizers(self, g_params, d_params):
            return torch.optim.Adam(g_params), torch.optim.Adam(d_params)

    hinge = Hinge(n_critic=2)
    assert hinge.d_loss(torch.ones(2), -torch.ones(2)).item() == 0 and hinge.n_critic == 2
    with pytest.raises(ValueError, match="n_critic"):
        Hinge(n_critic=0)
