"""A mixed-convolution (MC) video ResNet: 3D convolutions in the early stages, 2D ones
(1 x k x k kernels) in the late stages.

Tran et al.'s MC networks keep motion modelling where the features are still local
and save compute where they are abstract. The common MC18 layout, which both
recognition chapters use as their backbone, is:

=========  ====================  =========  ==================  ======================
stage      kernel                width      spatial stride      size at 224 x 224 input
=========  ====================  =========  ==================  ======================
stem       3 x 7 x 7             64         2                   112
layer1     3 x 3 x 3 (3D)        64         1                   112
layer2     1 x 3 x 3 (2D)        128        2                   56
layer3     1 x 3 x 3 (2D)        256        2                   28
layer4     1 x 3 x 3 (2D)        512        2                   14
=========  ====================  =========  ==================  ======================

No stage strides in time, so all T input frames survive to the last stage: the
STAR-Transformer splits frames into odd/even and first/second halves after it, and the
3D deformable transformer samples the whole T x H x W volume.

No pretrained weights can be downloaded here, so the backbone trains from scratch with
the rest of the model (the papers start from Kinetics-400 weights).
"""

from __future__ import annotations

import torch
from torch import nn

STAGES = ("stem", "layer1", "layer2", "layer3", "layer4")


class BasicBlock3d(nn.Module):
    """Two k_t x 3 x 3 convolutions with batch norm and a residual connection; the first
    strides in space only. ``k_t`` = 3 makes it a 3D block, 1 a 2D one."""

    def __init__(self, in_channels: int, out_channels: int, spatial_stride: int = 1, temporal_kernel: int = 3):
        super().__init__()
        k, p = (temporal_kernel, 3, 3), (temporal_kernel // 2, 1, 1)
        stride = (1, spatial_stride, spatial_stride)
        self.conv1 = nn.Conv3d(in_channels, out_channels, k, stride, p, bias=False)
        self.bn1 = nn.BatchNorm3d(out_channels)
        self.conv2 = nn.Conv3d(out_channels, out_channels, k, 1, p, bias=False)
        self.bn2 = nn.BatchNorm3d(out_channels)
        self.shortcut = nn.Identity()
        if spatial_stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv3d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm3d(out_channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(h)) + self.shortcut(x))


class MixedConvBackbone(nn.Module):
    """MC-style video ResNet returning every stage's feature map.

    Args:
        widths: channels of the stem and the four stages (MC18: 64, 64, 128, 256, 512).
        blocks: basic blocks per stage (MC18: 2, 2, 2, 2).
        num_3d_stages: how many stages after the stem use 3 x 3 x 3 kernels (MC3: 1);
            the rest use 1 x 3 x 3.
        stem_kernel: spatial kernel of the stem (7 in MC18; small frames use less).

    ``forward(x [B, 3, T, H, W]) -> {"stem", "layer1", ..., "layer4"}``, each
    ``[B, C_stage, T, H_stage, W_stage]``.
    """

    def __init__(
        self,
        widths=(64, 64, 128, 256, 512),
        blocks=(2, 2, 2, 2),
        num_3d_stages: int = 1,
        stem_kernel: int = 7,
        in_channels: int = 3,
    ):
        super().__init__()
        if len(widths) != 5 or len(blocks) != 4:
            raise ValueError(f"MixedConvBackbone: expected 5 widths and 4 block counts, got {widths}, {blocks}")
        self.widths = tuple(widths)
        self.stem = nn.Sequential(
            nn.Conv3d(
                in_channels,
                widths[0],
                (3, stem_kernel, stem_kernel),
                (1, 2, 2),
                (1, stem_kernel // 2, stem_kernel // 2),
                bias=False,
            ),
            nn.BatchNorm3d(widths[0]),
            nn.ReLU(inplace=True),
        )
        self.layers = nn.ModuleList()
        for i in range(4):
            temporal_kernel = 3 if i < num_3d_stages else 1
            stride = 1 if i == 0 else 2
            stage = [BasicBlock3d(widths[i], widths[i + 1], stride, temporal_kernel)]
            stage += [BasicBlock3d(widths[i + 1], widths[i + 1], 1, temporal_kernel) for _ in range(blocks[i] - 1)]
            self.layers.append(nn.Sequential(*stage))

    def channels(self, stage: str) -> int:
        return self.widths[STAGES.index(stage)]

    @staticmethod
    def downsampling(stage: str) -> int:
        """How many input pixels one feature-map pixel of ``stage`` spans."""
        return {"stem": 2, "layer1": 2, "layer2": 4, "layer3": 8, "layer4": 16}[stage]

    def forward(self, x: torch.Tensor, until: str = "layer4") -> dict[str, torch.Tensor]:
        if x.dim() != 5 or x.shape[1] != self.stem[0].in_channels:
            raise ValueError(
                f"MixedConvBackbone: expected [B, {self.stem[0].in_channels}, T, H, W], got {tuple(x.shape)}"
            )
        out = {"stem": self.stem(x)}
        h = out["stem"]
        for name, layer in zip(STAGES[1:], self.layers):
            h = out[name] = layer(h)
            if name == until:
                break
        return out
