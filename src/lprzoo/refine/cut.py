"""``CUTModule``: a one-sided translator, rendered plates (S) -> real-looking plates (R), FastCUT by default
(Park et al., "Contrastive Learning for Unpaired Image-to-Image Translation", ECCV 2020; the taesungp reference).

Beyond the paper (issue adapt-target): a cheaper peer of the CycleGAN of §III-A.  There is no F: R -> S, no D_S and
no cycle: what ties G(s) to s is *PatchNCE*, a contrastive loss under which each patch of G(s), embedded through
G's own encoder and a small MLP, must match the patch of s at the same place against the other patches of s.  One
generator and one discriminator instead of two each: about half of a CycleGAN step's work.

FastCUT is ``lambda_nce=10`` with no identity NCE; CUT is ``lambda_identity_nce=1`` (PatchNCE also on G(r) vs r).
The reference's FastCUT flips the whole batch horizontally at random ("flip equivariance"); a mirrored plate reads
differently, so it is left out here.  The adversarial loss is pluggable as in CycleGANModule (LSGAN by default, as
in CUT), and so is the label keeper.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn.functional import cross_entropy, normalize
from torch.optim.lr_scheduler import LambdaLR

from lprzoo.refine.adversarial import AdversarialStrategy, adversarial_step
from lprzoo.refine.networks import PatchDiscriminator, init_weights
from lprzoo.refine.translator import UnpairedBatch, UnpairedTranslator


class PatchSampleMLP(nn.Module):
    """CUT's ``PatchSampleF``: per encoder layer, the same random patch positions for every image of the batch, each
    embedded by a two-layer MLP and L2-normalised.

    Args:
        channels: channels of each encoder layer's feature map.
        dim: embedding size (256 in CUT).
    """

    def __init__(self, channels: Sequence[int], dim: int = 256) -> None:
        super().__init__()
        self.mlps = nn.ModuleList(nn.Sequential(nn.Linear(c, dim), nn.ReLU(), nn.Linear(dim, dim)) for c in channels)
        init_weights(self)

    def forward(
        self, features: Sequence[Tensor], num_patches: int, patch_ids: Sequence[Tensor] | None = None
    ) -> tuple[list[Tensor], list[Tensor]]:
        """``features[l]``: ``(B, C_l, H_l, W_l)`` -> ``(B * P_l, dim)`` embeddings (batch-major) and the positions
        used (``(P_l,)``, ``P_l = min(num_patches, H_l W_l)``), drawn anew unless ``patch_ids`` are given."""
        embedded, ids = [], []
        for layer, (feature, mlp) in enumerate(zip(features, self.mlps)):
            flat = feature.permute(0, 2, 3, 1).flatten(1, 2)  # (B, H W, C)
            if patch_ids is None:
                pick = torch.randperm(flat.shape[1], device=flat.device)[: min(num_patches, flat.shape[1])]
            else:
                pick = patch_ids[layer]
            embedded.append(normalize(mlp(flat[:, pick].flatten(0, 1)), dim=1))  # (B P, dim)
            ids.append(pick)
        return embedded, ids


def patch_nce_loss(query: Tensor, key: Tensor, batch_size: int, temperature: float = 0.07) -> Tensor:
    """PatchNCE (CUT Eq. 2) with negatives from the same image only: ``(B * P, D)`` queries (patches of G(s)) and
    keys (patches of s, detached) -> per-patch cross-entropy of the positive against the image's other patches,
    ``(B * P,)``."""
    key = key.detach()
    positive = (query * key).sum(1, keepdim=True)  # (B P, 1)
    q, k = query.view(batch_size, -1, query.shape[1]), key.view(batch_size, -1, key.shape[1])  # (B, P, D)
    negative = torch.bmm(q, k.transpose(1, 2))  # (B, P, P)
    eye = torch.eye(q.shape[1], dtype=torch.bool, device=q.device)[None]
    negative = negative.masked_fill(eye, -10.0).flatten(0, 1)  # a patch is no negative of itself; (B P, P)
    logits = torch.cat([positive, negative], dim=1) / temperature  # (B P, 1 + P)
    return cross_entropy(logits, torch.zeros(len(logits), dtype=torch.long, device=logits.device), reduction="none")


class CUTModule(UnpairedTranslator):
    """FastCUT / CUT on unpaired batches ``{"S": rendered, "R": real}``: G and D_R only, PatchNCE instead of a cycle.

    Args:
        strategy: adversarial loss and optimisers (``None``: ``LSGAN()``, as in CUT).
        ngf, ndf, n_blocks: as for :class:`~lprzoo.refine.cyclegan.CycleGANModule` (G is the same ResNet generator,
            so ``lprzoo translate`` reads this module's checkpoints as it reads a CycleGAN's).
        lambda_nce: weight of PatchNCE(s, G(s)) (10 for FastCUT, 1 for CUT).
        lambda_identity_nce: weight of PatchNCE(r, G(r)), CUT's identity term (0 for FastCUT).
        nce_layers: indices into ``G.model`` whose outputs are contrasted: the padded input, both stride-2
            convolutions and two residual blocks' outputs (CUT's ``0,4,8,12,16`` on its own generator).
        num_patches: patches per layer and image (256 in CUT).
        nce_dim: the MLP's embedding size.
        temperature: τ of PatchNCE (0.07).
        decay_start_epoch, decay_epochs, sample_every_n_epochs, num_samples, label_keeper, lambda_label: as for
            :class:`~lprzoo.refine.cyclegan.CycleGANModule`.
    """

    sample_name = "cut"

    def __init__(
        self,
        strategy: AdversarialStrategy | None = None,
        ngf: int = 64,
        ndf: int = 64,
        n_blocks: int = 6,
        lambda_nce: float = 10.0,
        lambda_identity_nce: float = 0.0,
        nce_layers: tuple[int, ...] = (0, 4, 7, 11, 15),
        num_patches: int = 256,
        nce_dim: int = 256,
        temperature: float = 0.07,
        decay_start_epoch: int = 15,
        decay_epochs: int = 15,
        sample_every_n_epochs: int = 1,
        num_samples: int = 8,
        label_keeper: str | None = None,
        lambda_label: float = 1.0,
    ) -> None:
        super().__init__(strategy, ngf, n_blocks, decay_start_epoch, decay_epochs)  # G: S -> R, strategy, LR decay
        self.save_hyperparameters(ignore=["strategy"])
        self.D_R = PatchDiscriminator(3, ndf)  # real vs. G(s)
        if max(nce_layers) >= len(self.G.model):
            raise ValueError(f"nce_layers {nce_layers}: G has {len(self.G.model)} layers (n_blocks={n_blocks})")
        self.nce_layers = list(nce_layers)
        self.patch_mlp = PatchSampleMLP(self.G.channels(self.nce_layers), nce_dim)

    def nce_loss(self, source: Tensor, translated: Tensor) -> Tensor:
        """Mean PatchNCE over ``nce_layers`` between ``source`` (keys) and ``translated = G(source)`` (queries)."""
        keys, ids = self.patch_mlp(self.G.features(source, self.nce_layers), self.hparams.num_patches)
        queries, _ = self.patch_mlp(self.G.features(translated, self.nce_layers), self.hparams.num_patches, ids)
        losses = [
            patch_nce_loss(q, k, len(source), self.hparams.temperature).mean() for q, k in zip(queries, keys)
        ]  # fmt: skip
        return torch.stack(losses).mean()

    def training_step(self, batch: UnpairedBatch, batch_idx: int) -> None:
        s, r = batch["S"], batch["R"]  # (B, 3, H, W) each, in [-1, 1]
        self._remember_samples(s, r)

        def critic_losses(fake_r: Tensor) -> dict[str, Tensor]:
            fake = fake_r.detach()
            return {"D_R": self.strategy.d_loss(self.D_R(r), self.D_R(fake)) + self.strategy.penalty(self.D_R, r, fake)}

        def generator_losses(fake_r: Tensor) -> dict[str, Tensor]:
            losses = {
                "G_adv": self.strategy.g_loss(self.D_R(fake_r)),  # G(s) should fool D_R
                "nce": self.hparams.lambda_nce * self.nce_loss(s, fake_r),  # each patch of G(s) is its s patch
            }
            if self.hparams.lambda_identity_nce > 0:
                losses["nce_idt"] = self.hparams.lambda_identity_nce * self.nce_loss(r, self.G(r))
            if self._keeper and batch.get("S_text") is not None:
                losses["label"] = self.hparams.lambda_label * self.label_loss(fake_r, batch["S_text"])
            return losses

        adversarial_step(
            self, self.strategy, batch_idx, (self.D_R,), lambda: self.G(s), critic_losses, generator_losses, len(s)
        )

    def sample_grid(self, s: Tensor, r: Tensor) -> Tensor:
        """Rows S, G(S), R, G(R) of ``N`` plates each: ``(4 N, 3, H, W)`` in ``[-1, 1]`` (G(R): what G does to a
        real plate, which should be little)."""
        return torch.cat([s, self.G(s), r, self.G(r)])

    def configure_optimizers(self):
        opt_g, opt_d = self.strategy.make_optimizers(
            itertools.chain(self.G.parameters(), self.patch_mlp.parameters()), self.D_R.parameters()
        )
        # manual optimisation: stepped once per epoch in on_train_epoch_end
        return [opt_g, opt_d], [LambdaLR(opt_g, self.lr_factor), LambdaLR(opt_d, self.lr_factor)]
