"""Mutation check of the property tests: break a defining property on purpose, run the
tests, and see that one fails.

Each mutation below replaces one piece of library source (found exactly once) with a
plausible bug: a query swapped with its key/value, a token dropped from an average,
windows that stop overlapping, a frame shifted, hops counted from 0, two axes swapped,
a mask inverted. The runner applies one mutation at a time, runs the test files of its
paper (``-m "not slow"``, without the tests that build the presets), restores the file
byte for byte, and reports which tests failed. A mutation that no test catches is a
missing test.

    python tools/mutations.py --list                # the mutations
    python tools/mutations.py                       # run them all (minutes: use the lock)
    python tools/mutations.py star.zigzag_swap ...  # run some, by id (or id prefix)
    python tools/mutations.py --markdown out.md     # also write the table as Markdown
    python tools/mutations.py --json out.json       # and every result, all failed tests

A mutation whose source text is no longer found is reported as ``stale`` (the code
changed since it was written): rewrite it against the new code. The tool never leaves a
mutation in place: the original text is written back in a ``finally`` block, and the
run ends by checking each touched file against its original.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TESTS = {
    "star": ["tests/test_star_transformer.py", "tests/test_properties_star.py"],
    "deformable3d": ["tests/test_deformable3d.py", "tests/test_properties_deformable3d.py"],
    "sigformer": ["tests/test_sigformer.py", "tests/test_properties_sigformer.py"],
    "interact": ["tests/test_interact.py", "tests/test_properties_interact.py"],
}
TESTS["nn"] = [
    "tests/test_windowed_attention.py",
    "tests/test_asformer.py",
    "tests/test_ms_tcn.py",
    "tests/test_properties_nn.py",
    *TESTS["star"],
    *TESTS["deformable3d"],
    *TESTS["sigformer"],
    *TESTS["interact"],
]


@dataclass(frozen=True)
class Mutation:
    id: str  # "<group>.<name>"; the group picks the test files
    component: str
    prop: str  # the property the mutation breaks
    path: str  # relative to the repository root
    old: str  # must occur exactly once in the file
    new: str
    what: str  # the bug, in words

    @property
    def group(self) -> str:
        return self.id.split(".")[0]


STAR = "actseg_lib/models/star_transformer.py"
D3D = "actseg_lib/models/deformable3d.py"
SIG = "actseg_lib/models/sigformer.py"
IA = "actseg_lib/models/interact.py"
ATT = "actseg_lib/nn/attention.py"
WIN = "actseg_lib/nn/windowed_attention.py"

M = Mutation
MUTATIONS = [
    # --- STAR-Transformer ----------------------------------------------------------------
    M(
        "star.zigzag_swap_qkv",
        "STAR ZAttn",
        "a' = Attn(Q odd, K/V even)",
        STAR,
        "out[:, 0::2] = self.attend(z[:, 0::2], z[:, 1::2], odd, even)  # a'",
        "out[:, 0::2] = self.attend(z[:, 1::2], z[:, 0::2], even, odd)  # a'",
        "a' queries with the even frames and reads the odd ones (query and key/value swapped)",
    ),
    M(
        "star.zigzag_same_parity",
        "STAR ZAttn",
        "a'' reads the other parity",
        STAR,
        "out[:, 1::2] = self.attend(z[:, 1::2], z[:, 0::2], even, odd)  # a''",
        "out[:, 1::2] = self.attend(z[:, 1::2], z[:, 1::2], even, even)  # a''",
        "a'' reads its own parity",
    ),
    M(
        "star.zigzag_concat",
        "STAR ZAttn",
        "output back in frame order",
        STAR,
        "        out = torch.empty_like(z)\n"
        "        out[:, 0::2] = self.attend(z[:, 0::2], z[:, 1::2], odd, even)  # a'\n"
        "        out[:, 1::2] = self.attend(z[:, 1::2], z[:, 0::2], even, odd)  # a''\n"
        "        return out\n",
        "        a1 = self.attend(z[:, 0::2], z[:, 1::2], odd, even)\n"
        "        return torch.cat([a1, self.attend(z[:, 1::2], z[:, 0::2], even, odd)], dim=1)\n",
        "a' and a'' concatenated, not put back in frame order (the unofficial code's bug)",
    ),
    M(
        "star.zigzag_bookkeeping_shift",
        "STAR ZAttn",
        "frame attention recorded at the right frames",
        STAR,
        "odd, even = list(range(0, T, 2)), list(range(1, T, 2))",
        "odd, even = list(range(1, T, 2)), list(range(0, T, 2))",
        "the recorded frame-attention map files each row one frame off",
    ),
    M(
        "star.binary_order",
        "STAR BAttn",
        "output back in frame order",
        STAR,
        "                self.attend(z[:, :half], z[:, half:], first, second),  # b'\n"
        "                self.attend(z[:, half:], z[:, :half], second, first),\n",
        "                self.attend(z[:, half:], z[:, :half], second, first),\n"
        "                self.attend(z[:, :half], z[:, half:], first, second),  # b'\n",
        "b'' placed before b' (halves swapped in the output)",
    ),
    M(
        "star.binary_self",
        "STAR BAttn",
        "b' = Attn(Q first half, K/V second half)",
        STAR,
        "self.attend(z[:, :half], z[:, half:], first, second),  # b'",
        "self.attend(z[:, :half], z[:, :half], first, first),  # b'",
        "the first half attends to itself",
    ),
    M(
        "star.binary_split",
        "STAR BAttn",
        "split: the first half gets the extra frame",
        STAR,
        "half = (T + 1) // 2",
        "half = T // 2",
        "odd T: the extra frame goes to the second half",
    ),
    M(
        "star.full_per_frame",
        "STAR FAttn",
        "every token reads all T S tokens",
        STAR,
        "        return self.attend(z, z, frames, frames)\n",
        "        return torch.stack([self.attend(z[:, t : t + 1], z[:, t : t + 1], [t], [t])[:, 0] for t in frames], 1)\n",
        "attention within each frame only",
    ),
    M(
        "star.layer_prenorm",
        "STAR layer",
        "Zbar = LN(FAttn(z) + z) (post-norm)",
        STAR,
        "z = self.norm_full(self.dropout(self.full(z)) + z)  # Zbar",
        "z = self.dropout(self.full(self.norm_full(z))) + z  # Zbar",
        "pre-norm instead of the paper's post-norm",
    ),
    M(
        "star.layer_no_cross_residual",
        "STAR layer",
        "Zhat = LN(STA(z') + z' (+) ...)",
        STAR,
        "z = self.norm_cross(self.dropout(self.cross(z)) + z)",
        "z = self.norm_cross(self.dropout(self.cross(z)))",
        "the decoupled attention loses its residual",
    ),
    M(
        "star.layer_order",
        "STAR layer",
        "FAttn, then the decoupled attention",
        STAR,
        "        z = self.norm_full(self.dropout(self.full(z)) + z)  # Zbar\n"
        "        z = self.norm_cross(self.dropout(self.cross(z)) + z)",
        "        z = self.norm_cross(self.dropout(self.cross(z)) + z)\n"
        "        z = self.norm_full(self.dropout(self.full(z)) + z)  # Zbar",
        "the decoupled attention runs before FAttn",
    ),
    M(
        "star.layer_mlp_norm",
        "STAR layer",
        "z = LN(MLP(Zhat) + Zhat), its own LN",
        STAR,
        "return self.norm_mlp(self.dropout(self.mlp(z)) + z)",
        "return self.norm_cross(self.dropout(self.mlp(z)) + z)",
        "the MLP step reuses the cross step's LayerNorm",
    ),
    M(
        "star.layer_mlp_residual_from_input",
        "STAR layer",
        "the MLP's residual is Zhat",
        STAR,
        "    def forward(self, z: torch.Tensor) -> torch.Tensor:  # [B, T, S, D] -> same\n        z = self.norm_full(",
        "    def forward(self, z: torch.Tensor) -> torch.Tensor:  # [B, T, S, D] -> same\n"
        "        z0 = z\n"
        "        z = self.norm_full(",
        "(with the next line) the MLP's residual is the layer's input",
    ),
    M(
        "star.encoder_binary",
        "STAR model",
        "encoder layers use ZAttn, decoder layers BAttn",
        STAR,
        "STAREncoderLayer(cross=encoder_attention, **layer_args)",
        "STAREncoderLayer(cross=decoder_attention, **layer_args)",
        "the encoder layers get the decoder's attention kind",
    ),
    M(
        "star.decoder_first",
        "STAR model",
        "encoder layers run before decoder layers",
        STAR,
        "for layer in (*self.encoder, *self.decoder):",
        "for layer in (*self.decoder, *self.encoder):",
        "decoder layers run first",
    ),
    M(
        "star.head_all_tokens",
        "STAR head",
        "average of the class tokens only",
        STAR,
        "embedding = z[:, :, positions].mean((1, 2))",
        "embedding = z.mean((1, 2))",
        "the head averages every token",
    ),
    M(
        "star.head_drop_total",
        "STAR head",
        "average of every class token",
        STAR,
        "embedding = z[:, :, positions].mean((1, 2))",
        "embedding = z[:, :, positions[:-1]].mean((1, 2))",
        "CLS_total left out of the average",
    ),
    M(
        "star.head_last_frame",
        "STAR head",
        "average over every frame",
        STAR,
        "embedding = z[:, :, positions].mean((1, 2))",
        "embedding = z[:, -1, positions].mean(1)",
        "the class tokens of the last frame only",
    ),
    M(
        "star.head_no_norm",
        "STAR head",
        "LN, then the MLP",
        STAR,
        "return self.mlp(self.norm(embedding)), embedding",
        "return self.mlp(embedding), embedding",
        "the head's LayerNorm skipped",
    ),
    M(
        "star.class_positions",
        "STAR tokens",
        "class-token positions along S",
        STAR,
        "offset = 1 + num_grid",
        "offset = num_grid",
        "the joint class token's position counted without CLS_global",
    ),
    M(
        "star.joint_pos_missing",
        "STAR tokens",
        "only joint tokens get a position",
        STAR,
        "parts += [self.cls_joint.expand(one), joints + self.joint_pos]",
        "parts += [self.cls_joint.expand(one), joints]",
        "joint tokens without their positional embedding",
    ),
    M(
        "star.joint_features_axes",
        "STAR joint tokens",
        "F of frame t meets h_n of frame t",
        STAR,
        "frames = features.transpose(1, 2).reshape(B * T, -1, h, w)",
        "frames = features.reshape(B * T, -1, h, w)",
        "feature map's channel and time axes swapped before the per-frame convolution",
    ),
    M(
        "star.joint_heatmap_unused",
        "STAR joint tokens",
        "token embeds [F ; h_n]",
        STAR,
        "        return self.proj(F.gelu(g).flatten(3))  # [B, T, N, D]",
        "        return self.proj(F.gelu(g - g + self.conv_features(frames).view(B, T, 1, -1, h, w)).flatten(3))",
        "the heat map dropped from the joint token (only F)",
    ),
    M(
        "star.skeleton_frame_shift",
        "STAR joint tokens",
        "joint token (t, n) from joint n at frame t",
        STAR,
        "render_joint_heatmaps(skeleton2d.float(), size",
        "render_joint_heatmaps(skeleton2d.float().roll(1, dims=1), size",
        "heat maps of frame t drawn from frame t-1's skeleton",
    ),
    M(
        "star.heatmap_xy",
        "STAR heat maps",
        "Gaussian at (x, y) of the joint",
        "actseg_lib/nn/joint_heatmaps.py",
        "    cx = coords[..., 0:1] * width - 0.5  # [..., J, 1]\n    cy = coords[..., 1:2] * height - 0.5\n",
        "    cx = coords[..., 1:2] * width - 0.5  # [..., J, 1]\n    cy = coords[..., 0:1] * height - 0.5\n",
        "x and y swapped",
    ),
    # --- shared attention (nn/attention.py) ----------------------------------------------
    M(
        "nn.attention_kv_from_queries",
        "nn Attention",
        "keys and values from the context",
        ATT,
        "k, v = self.kv(context)",
        "k, v = self.kv(queries)",
        "keys/values projected from the queries",
    ),
    M(
        "nn.attention_q_from_context",
        "nn Attention",
        "queries from the queries",
        ATT,
        "q = self.q(queries).reshape(B, N, H, d)",
        "q = self.q(context[:, :N]).reshape(B, N, H, d)",
        "queries projected from the context",
    ),
    M(
        "nn.attention_head_axes",
        "nn Attention",
        "heads split along the channels",
        ATT,
        "q = self.q(queries).reshape(B, N, H, d).transpose(1, 2)",
        "q = self.q(queries).reshape(B, H, N, d)",
        "the query's head and token axes swapped",
    ),
    M(
        "nn.attention_mask_inverted",
        "nn Attention",
        "a query reads only allowed keys",
        ATT,
        "safe = allowed | ~reads",
        "safe = ~allowed | ~reads",
        "the boolean mask inverted",
    ),
    M(
        "nn.attention_empty_rows",
        "nn Attention",
        "a query with no key reads nothing",
        ATT,
        "    return out * reads\n",
        "    return out\n",
        "rows with no allowed key read everything",
    ),
    M(
        "nn.attention_scale",
        "nn Attention",
        "scores scaled by 1/sqrt(d)",
        ATT,
        "weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)",
        "weights = torch.softmax(q @ k.transpose(-1, -2), dim=-1)",
        "recorded weights without the 1/sqrt(d) scale",
    ),
    # --- windowed attention, masks, temporal convolutions ------------------------------
    M(
        "nn.window_blocks_do_not_overlap",
        "nn windowed attention",
        "centred window crossing block edges",
        WIN,
        "centred = (j >= i) & (j <= i + 2 * h)",
        "centred = (j >= h) & (j < h + w)",
        "each query sees only its own block of w frames (windows stop overlapping)",
    ),
    M(
        "nn.window_whole_band",
        "nn windowed attention",
        "centred window, not the whole band",
        WIN,
        "centred = (j >= i) & (j <= i + 2 * h)",
        "centred = (j >= 0) & (i >= 0)",
        "every query of a block sees the whole band (the public ASFormer code's mask)",
    ),
    M(
        "nn.window_one_short",
        "nn windowed attention",
        "|s - t| <= w // 2",
        WIN,
        "centred = (j >= i) & (j <= i + 2 * h)",
        "centred = (j >= i) & (j < i + 2 * h)",
        "the window's last key left out",
    ),
    M(
        "nn.window_key_mask_ignored",
        "nn windowed attention",
        "padded keys never read",
        WIN,
        "real = torch.ones(B, T, dtype=torch.bool, device=q.device) if key_mask is None else key_mask",
        "real = torch.ones(B, T, dtype=torch.bool, device=q.device)",
        "the key mask ignored",
    ),
    M(
        "nn.frame_mask_inverted",
        "nn masks",
        "1 on real frames",
        "actseg_lib/nn/masks.py",
        "return mask[:, None, :].to(x.dtype)",
        "return (~mask)[:, None, :].to(x.dtype)",
        "the frame mask inverted",
    ),
    M(
        "nn.asformer_key_mask_inverted",
        "nn ASFormer block",
        "real frames are the keys",
        "actseg_lib/nn/asformer_block.py",
        "key_mask=mask[:, 0] > 0",
        "key_mask=mask[:, 0] == 0",
        "the attention's key mask inverted",
    ),
    M(
        "nn.asformer_values_from_x",
        "nn ASFormer block",
        "decoder values from memory",
        "actseg_lib/nn/asformer_block.py",
        "v = self.value(source).transpose(1, 2)",
        "v = self.value(x).transpose(1, 2)",
        "cross-attention values read from x",
    ),
    M(
        "nn.instance_norm_counts_padding",
        "nn ASFormer block",
        "norm over real frames only",
        "actseg_lib/nn/asformer_block.py",
        "mean = (x * mask).sum(dim=-1, keepdim=True) / n",
        "mean = x.mean(dim=-1, keepdim=True)",
        "the instance norm's mean counts padded frames",
    ),
    M(
        "nn.tcn_no_dilation",
        "nn temporal conv",
        "3-tap conv dilated by 2^l",
        "actseg_lib/nn/temporal_conv.py",
        "self.conv_dilated = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)",
        "self.conv_dilated = nn.Conv1d(channels, channels, 3, padding=1, dilation=1)",
        "dilation dropped",
    ),
    M(
        "nn.tcn_shifted",
        "nn temporal conv",
        "centred taps",
        "actseg_lib/nn/temporal_conv.py",
        "out = self.dropout(self.conv_1x1(torch.relu(self.conv_dilated(x))))",
        "out = self.dropout(self.conv_1x1(torch.relu(self.conv_dilated(x)))).roll(1, -1)",
        "the convolution's output shifted a frame (a causal-style misalignment)",
    ),
    M(
        "nn.tcn_no_residual",
        "nn temporal conv",
        "residual connection",
        "actseg_lib/nn/temporal_conv.py",
        "return (x + out) * mask",
        "return out * mask",
        "the residual dropped",
    ),
    M(
        "nn.tcn_padding_kept",
        "nn temporal conv",
        "padded frames zeroed",
        "actseg_lib/nn/temporal_conv.py",
        "return (x + out) * mask",
        "return x + out",
        "padded frames keep their values",
    ),
    M(
        "nn.ffn_conv_no_dilation",
        "nn temporal conv",
        "ASFormer feed-forward dilated",
        "actseg_lib/nn/temporal_conv.py",
        "self.conv = nn.Conv1d(in_channels, out_channels, 3, padding=dilation, dilation=dilation)",
        "self.conv = nn.Conv1d(in_channels, out_channels, 3, padding=1, dilation=1)",
        "the feed-forward's dilation dropped",
    ),
    # --- 3D deformable transformer -------------------------------------------------------
    M(
        "deformable3d.kv_without_cross",
        "3D cross-modal tokens",
        "keys/values = deformable ++ cross tokens",
        D3D,
        "context = torch.cat([sampled, cross], dim=1)",
        "context = sampled",
        "keys and values leave the cross-modal tokens out",
    ),
    M(
        "deformable3d.queries_from_sampled",
        "3D deformable attention",
        "queries = RGB ++ cross tokens",
        D3D,
        "queries = torch.cat([rgb, cross], dim=1)",
        "queries = torch.cat([sampled, cross], dim=1)",
        "queries from the deformable tokens (query and key/value swapped)",
    ),
    M(
        "deformable3d.keys_not_sampled",
        "3D deformable attention",
        "keys/values are the deformable tokens",
        D3D,
        "sampled, self.points = self.search(volume)  # [B, N, D]",
        "self.points = self.search(volume)[1]; sampled = rgb  # noqa: E702",
        "keys from the RGB tokens although the 3DTS ran",
    ),
    M(
        "deformable3d.head_rgb_cross_only",
        "3D cross-modal tokens",
        "prediction from both cross tokens",
        D3D,
        "embedding = cross.mean(dim=(1, 2))",
        "embedding = cross[:, :, 0].mean(dim=1)",
        "the head reads only the RGB class token",
    ),
    M(
        "deformable3d.head_last_frame",
        "3D cross-modal tokens",
        "prediction from every frame's cross tokens",
        D3D,
        "embedding = cross.mean(dim=(1, 2))",
        "embedding = cross[:, -1].mean(dim=1)",
        "the head reads the last frame's cross tokens",
    ),
    M(
        "deformable3d.offset_axes",
        "3D deformable sampling",
        "offset channels (dt, dy, dx) -> (x, y, t)",
        D3D,
        "raw.permute(0, 2, 3, 4, 1)[..., [2, 1, 0]]",
        "raw.permute(0, 2, 3, 4, 1)",
        "offset channels not reordered: dt moves x and dx moves t",
    ),
    M(
        "deformable3d.groups_share_points",
        "3D deformable sampling",
        "each group samples at its own points",
        D3D,
        "tokens = sample_volume(grouped, points)  # [B*G, N, c]",
        "tokens = sample_volume(grouped, points.view(B, G, -1, 3)[:, :1].expand(B, G, -1, 3).reshape(B * G, -1, 3))",
        "every group samples at group 0's points",
    ),
    M(
        "deformable3d.groups_interleaved",
        "3D deformable sampling",
        "groups side by side in the channels",
        D3D,
        "tokens = tokens.view(B, G, N, c).transpose(1, 2).reshape(B, N, D)",
        "tokens = tokens.reshape(B, N, D)",
        "group and token axes mixed up",
    ),
    M(
        "deformable3d.align_corners",
        "3D deformable sampling",
        "a point at a cell centre reads that cell",
        "actseg_lib/nn/deformable_sampling.py",
        'padding_mode="zeros", align_corners=False)',
        'padding_mode="zeros", align_corners=True)',
        "align_corners=True: reference points half a cell off",
    ),
    M(
        "deformable3d.nearest",
        "3D deformable sampling",
        "trilinear sampling",
        "actseg_lib/nn/deformable_sampling.py",
        'mode="bilinear"',
        'mode="nearest"',
        "nearest-neighbour sampling",
    ),
    M(
        "deformable3d.reference_axes",
        "3D deformable sampling",
        "reference points as (x, y, t)",
        "actseg_lib/nn/deformable_sampling.py",
        "return torch.stack([xs, ys, ts], dim=-1)",
        "return torch.stack([ts, ys, xs], dim=-1)",
        "reference points as (t, y, x)",
    ),
    M(
        "deformable3d.joint_windows_disjoint",
        "3D local joint stride attention",
        "joint windows overlap (stride < window)",
        D3D,
        "windows = sliding_windows(J, self.window, self.stride)",
        "windows = sliding_windows(J, self.window, self.window)",
        "joint windows stop overlapping (stride = window)",
    ),
    M(
        "deformable3d.joint_sum_not_mean",
        "3D local joint stride attention",
        "a joint in several windows gets the mean",
        D3D,
        "            count[start:end] += 1\n            out_cross",
        "            count[start:end] = 1\n            out_cross",
        "a joint in two windows gets the sum of its outputs",
    ),
    M(
        "deformable3d.joint_cross_sum",
        "3D local joint stride attention",
        "cross tokens: mean over the windows",
        D3D,
        "out_cross / len(windows)",
        "out_cross / count.max()",
        "cross-token updates divided by the wrong count",
    ),
    M(
        "deformable3d.joint_cross_other_frame",
        "3D local joint stride attention",
        "a frame's cross tokens join that frame's windows",
        D3D,
        "frame_cross = cross.reshape(B * T, C, D)",
        "frame_cross = cross.roll(1, dims=1).reshape(B * T, C, D)",
        "each window reads the previous frame's cross tokens (a frame shifted)",
    ),
    M(
        "deformable3d.temporal_windows_disjoint",
        "3D temporal stride attention",
        "temporal windows overlap (stride < window)",
        D3D,
        "for start, end in sliding_windows(T, self.window, self.stride):",
        "for start, end in sliding_windows(T, self.window, self.window):",
        "temporal windows stop overlapping (stride = window)",
    ),
    M(
        "deformable3d.temporal_sum_not_mean",
        "3D temporal stride attention",
        "a frame in several windows gets the mean",
        D3D,
        "            count[start:end] += 1\n        return out / count.view(1, T, 1, 1)",
        "            count[start:end] = 1\n        return out / count.view(1, T, 1, 1)",
        "a frame in two windows gets the sum of its outputs",
    ),
    M(
        "deformable3d.sliding_no_last",
        "3D stride windows",
        "the last window ends at the last position",
        D3D,
        "    if starts[-1] + window < length:\n        starts.append(length - window)\n",
        "",
        "the tail positions are covered by no window",
    ),
    M(
        "deformable3d.temporal_without_cross",
        "3D cross-modal tokens",
        "cross tokens take part in the temporal stride attention",
        D3D,
        "frames = frames + self.drop(self.temporal(self.norm_frames(frames)))",
        "frames = frames + self.drop(torch.cat([self.temporal(self.norm_frames(frames)[:, :, : h * w + J]),"
        " torch.zeros_like(cross)], 2))",
        "the cross tokens are left out of the temporal stride attention",
    ),
    # --- SigFormer -----------------------------------------------------------------------
    M(
        "sigformer.sgf_swap_qkv",
        "SigFormer SGF",
        "the guidance queries the gated stream",
        SIG,
        "return self.norm(gated + self.attn(guidance, gated, allowed))",
        "return self.norm(gated + self.attn(gated, guidance, allowed))",
        "the stream queries the guidance (query and key/value swapped)",
    ),
    M(
        "sigformer.sgf_gate_without_guidance",
        "SigFormer SGF",
        "s' = SiLU(s + g)",
        SIG,
        "        gated = F.silu(stream + guidance)\n        return self.norm(",
        "        gated = F.silu(stream)\n        return self.norm(",
        "the gate ignores the guidance",
    ),
    M(
        "sigformer.sgf_residual_ungated",
        "SigFormer SGF",
        "residual of the gated stream",
        SIG,
        "return self.norm(gated + self.attn(guidance, gated, allowed))",
        "return self.norm(stream + self.attn(guidance, gated, allowed))",
        "the residual adds the ungated stream",
    ),
    M(
        "sigformer.mask_window_exclusive",
        "SigFormer event mask",
        "|i - e| <= w",
        SIG,
        "near = (idx[:, None] - idx[None, :]).abs() <= window",
        "near = (idx[:, None] - idx[None, :]).abs() < window",
        "the event window one second short",
    ),
    M(
        "sigformer.mask_any_events",
        "SigFormer event mask",
        "i and j near the same event",
        SIG,
        "allowed = (cover @ cover.transpose(1, 2)) > 0  # share an event",
        "allowed = (cover.amax(-1)[:, :, None] * cover.amax(-1)[:, None, :]) > 0",
        "i and j each near some event, not the same one",
    ),
    M(
        "sigformer.masked_mode_unmasked",
        "SigFormer SGF",
        "masked mode uses the event mask",
        SIG,
        'if self.guidance == "masked":',
        'if self.guidance == "unmasked":',
        "the modes' masks exchanged",
    ),
    M(
        "sigformer.fusion_mask_dropped",
        "SigFormer SGF",
        "the mask reaches the attention",
        SIG,
        "s = self.sgf_spatial[i](s, guidance, allowed) if self.has_spatial else None",
        "s = self.sgf_spatial[i](s, guidance, None) if self.has_spatial else None",
        "the spatial stream's SGF gets no mask",
    ),
    M(
        "sigformer.msaf_swap_qkv",
        "SigFormer MSAF",
        "m' = LN(m + Attn(Q = m, K = V = s))",
        SIG,
        "m = self.motion_norm(motion + self.motion_reads_spatial(motion, spatial, pairs))",
        "m = self.motion_norm(motion + self.motion_reads_spatial(spatial, motion, pairs))",
        "motion's update queries with the spatial stream (query and key/value swapped)",
    ),
    M(
        "sigformer.msaf_sequential",
        "SigFormer MSAF",
        "both directions read the layer's inputs",
        SIG,
        "s = self.spatial_norm(spatial + self.spatial_reads_motion(spatial, motion, pairs))",
        "s = self.spatial_norm(spatial + self.spatial_reads_motion(spatial, m, pairs))",
        "the spatial stream reads the already updated motion",
    ),
    M(
        "sigformer.fusion_output_motion_only",
        "SigFormer fusion",
        "output LN(m + s)",
        SIG,
        "fused = m + s if self.has_motion and self.has_spatial else (m if self.has_motion else s)",
        "fused = m if self.has_motion and self.has_spatial else (m if self.has_motion else s)",
        "the fusion's output drops the spatial stream",
    ),
    M(
        "sigformer.stage1_inverted",
        "SigFormer interaction",
        "stage 1: boundaries read the classes",
        SIG,
        "else self.boundary_reads_class(b, c, mask)",
        "else self.boundary_reads_class(c, b, mask)",
        "stage 1 queries with the class features (the official code's direction)",
    ),
    M(
        "sigformer.stage2_inverted",
        "SigFormer interaction",
        "stage 2: classes read the boundaries",
        SIG,
        "else self.class_reads_boundary(c, b, mask)",
        "else self.class_reads_boundary(b, c, mask)",
        "stage 2 queries with the boundary features",
    ),
    M(
        "sigformer.stage2_reads_early_boundary",
        "SigFormer interaction",
        "stage 2 reads the refined boundary features",
        SIG,
        "        b = self.boundary_2(b, mask)\n"
        "        if self.interactive:  # stage 2\n"
        "            c = self.class_reads_boundary(b, c, mask) if official else self.class_reads_boundary(c, b, mask)\n",
        "        if self.interactive:  # stage 2\n"
        "            c = self.class_reads_boundary(b, c, mask) if official else self.class_reads_boundary(c, b, mask)\n"
        "        b = self.boundary_2(b, mask)\n",
        "stage 2 reads the boundary features before Boundary_2",
    ),
    M(
        "sigformer.cross_residual_context",
        "SigFormer interaction",
        "x <- FFN(LN(x + Attn(x, y)))",
        SIG,
        "return self.ffn(self.norm(x + self.attn(x, y, _pair_mask(mask)))) * mask[..., None]",
        "return self.ffn(self.norm(y + self.attn(x, y, _pair_mask(mask)))) * mask[..., None]",
        "the cross block's residual is the context",
    ),
    M(
        "sigformer.boundary_head_reads_class",
        "SigFormer boundary head",
        "boundary logit = w_b LN(b)",
        SIG,
        "boundary_logits = self.boundary_head(self.boundary_norm(b))[..., 0]",
        "boundary_logits = self.boundary_head(self.boundary_norm(c))[..., 0]",
        "the boundary head reads the class features",
    ),
    M(
        "sigformer.class_head_reads_boundary",
        "SigFormer class head",
        "class logits = W_c LN(c)",
        SIG,
        "class_logits = self.class_head(self.class_norm(c)).transpose(1, 2)",
        "class_logits = self.class_head(self.class_norm(b)).transpose(1, 2)",
        "the class head reads the boundary features",
    ),
    M(
        "sigformer.threshold_inclusive",
        "SigFormer boundary filter",
        "kept where p > threshold",
        SIG,
        "return boundary_probs > threshold",
        "return boundary_probs >= threshold",
        "a boundary exactly at the threshold is kept",
    ),
    M(
        "sigformer.inner_boundary_drop_b0",
        "SigFormer inner boundary branch",
        "mean of b_0..b_S",
        SIG,
        "torch.stack(outputs).mean(0)",
        "torch.stack(outputs[1:]).mean(0)",
        "b_0 left out of the inner boundary average",
    ),
    M(
        "sigformer.inner_class_not_fed_back",
        "SigFormer inner class branch",
        "h <- h + W softmax(z)",
        SIG,
        "h = (h + self.class_embed(logits.softmax(-1))) * mask[..., None]",
        "h = h * mask[..., None]",
        "the inner class prediction is not added back",
    ),
    M(
        "sigformer.loss_inner_first_stream",
        "SigFormer loss",
        "inner CE on the mean of the streams' logits",
        SIG,
        "inner_logits = torch.stack(out.inner_class_logits).mean(0)",
        "inner_logits = out.inner_class_logits[0]",
        "the inner CE reads the first stream's logits only",
    ),
    # --- InterAct ------------------------------------------------------------------------
    M(
        "interact.hops_from_zero",
        "InterAct DSMI",
        "A^(1)..A^(K)",
        IA,
        "for k in range(1, num_scales + 1)",
        "for k in range(num_scales)",
        "hops counted from 0",
    ),
    M(
        "interact.hops_cumulative",
        "InterAct DSMI",
        "A^(k): distance exactly k",
        IA,
        "return ((distances == k) | np.eye",
        "return ((distances <= k) | np.eye",
        "k-adjacency holds every joint within k hops",
    ),
    M(
        "interact.no_self_loops",
        "InterAct DSMI",
        "self loops in every A^(k)",
        IA,
        "return ((distances == k) | np.eye(len(distances), dtype=bool)).astype(np.float32)",
        "return (distances == k).astype(np.float32)",
        "self loops left out",
    ),
    M(
        "interact.row_normalised",
        "InterAct DSMI",
        "symmetric normalisation",
        IA,
        "return (adjacency * scale[:, None] * scale[None, :]).astype(np.float32)",
        "return (adjacency * (scale**2)[:, None]).astype(np.float32)",
        "row normalisation D^-1 A",
    ),
    M(
        "interact.gather_transposed",
        "InterAct DSMI",
        "joint v reads joints u through A[u, v] + B[u, v]",
        IA,
        'torch.einsum("ntuc,kuv->ntvkc", v, A)',
        'torch.einsum("ntuc,kvu->ntvkc", v, A)',
        "the (learned, asymmetric) adjacency read transposed",
    ),
    M(
        "interact.learned_dropped",
        "InterAct DSMI",
        "A^(k) + B^(k)",
        IA,
        "A = self.adjacency + self.learned  # [K, V, V]",
        "A = self.adjacency  # [K, V, V]",
        "B^(k) never added",
    ),
    M(
        "interact.motion_shifted",
        "InterAct DSMI",
        "motion = x_t - x_{t-1}",
        IA,
        'moved = torch.cat([zero, step] if motion == "backward" else [step, zero], dim=1)',
        'moved = torch.cat([step, zero] if motion == "backward" else [step, zero], dim=1)',
        "motion a frame early",
    ),
    M(
        "interact.second_step_reads_absolute",
        "InterAct DSMI",
        "X = MLP(SAttn([X_hat || S_motion]))",
        IA,
        'fused = getattr(self, f"fuse_{m}")(fused, S[m])  # [N, T, V, C]',
        'fused = getattr(self, f"fuse_{m}")(S[self.modalities[0]], S[m])  # [N, T, V, C]',
        "the second fusion step reads S_abs instead of the first step's output",
    ),
    M(
        "interact.pairs_axes",
        "InterAct DSMI",
        "the MLP merges joint v's two tokens",
        IA,
        "pairs = tokens.reshape(N, T, 2, V, C).permute(0, 1, 3, 2, 4).flatten(3)",
        "pairs = tokens.reshape(N, T, V, 2 * C)",
        "modality and joint axes mixed up: joint v merged with joint v + 1",
    ),
    M(
        "interact.sattn_across_frames",
        "InterAct DSMI",
        "SAttn over the 2V tokens of one frame",
        IA,
        "tokens = tokens + self.attention(h)  # SAttn",
        "tokens = tokens + self.attention(h.reshape(N, T * 2 * V, C)).reshape(N * T, 2 * V, C)  # SAttn",
        "the fusion attention spans every frame",
    ),
    M(
        "interact.encoder_windows",
        "InterAct MFAI",
        "encoder layer u: window 2^(u-1)",
        IA,
        "window=dilation, alpha=1.0",
        "window=2 * dilation, alpha=1.0",
        "every encoder window twice as wide",
    ),
    M(
        "interact.halve_mask_shift",
        "InterAct MFAI",
        "coarse frame t centred on fine frame 2t",
        IA,
        "    return mask[..., ::2]\n",
        "    return torch.cat([mask[..., 1::2], mask[..., -1:]], -1)[..., : (mask.shape[-1] + 1) // 2]\n",
        "the halved mask a frame late",
    ),
    M(
        "interact.stage_reads_finer",
        "InterAct MFAI",
        "stage r reads X_{r-1}",
        IA,
        'return r - 1 if self.stage_scales == "paper" else r',
        'return r if self.stage_scales == "paper" else r',
        "stage r reads X_r",
    ),
    M(
        "interact.fixed_reads_coarsest",
        "InterAct MFAI",
        "fixed interaction reads X_H",
        IA,
        "            return self.num_stages\n",
        "            return 0\n",
        "the fixed interaction reads X_0",
    ),
    M(
        "interact.fblock_reads_old_queries",
        "InterAct MFAI",
        "F^r reads Q^r",
        IA,
        "            queries = self.query_blocks[r - 1](queries, read.transpose(1, 2), read_mask[:, 0] > 0)\n"
        "            action, boundary = self.frame_blocks[r - 1](action, boundary, queries)\n",
        "            action, boundary = self.frame_blocks[r - 1](action, boundary, queries)\n"
        "            queries = self.query_blocks[r - 1](queries, read.transpose(1, 2), read_mask[:, 0] > 0)\n",
        "the frame update reads Q^{r-1} (updates in the wrong order)",
    ),
    M(
        "interact.qblock_no_self_attention",
        "InterAct queries",
        "Q^r = MLP(CAttn(SAttn(Q), X))",
        IA,
        "queries = queries + self.self_attention(self.self_norm(queries))",
        "queries = queries + 0 * self.self_attention(self.self_norm(queries))",
        "the queries' self-attention skipped",
    ),
    M(
        "interact.qblock_mask_inverted",
        "InterAct queries",
        "queries read only real frames",
        IA,
        "allowed = frame_mask[:, None, :].expand(-1, queries.shape[1], -1)",
        "allowed = (~frame_mask)[:, None, :].expand(-1, queries.shape[1], -1)",
        "the frame mask inverted",
    ),
    M(
        "interact.qblock_frames_unnormed",
        "InterAct queries",
        "CAttn(LN(Q), LN(X))",
        IA,
        "self.cross_attention(self.cross_norm(queries), self.frame_norm(frames), allowed)",
        "self.cross_attention(self.cross_norm(queries), self.cross_norm(frames), allowed)",
        "the frames pass the queries' norm",
    ),
    M(
        "interact.fblock_boundary_from_action",
        "InterAct MFAI",
        "F_b^r = CAttn(F_b^{r-1}, Q^r)",
        IA,
        "boundary = boundary + self.boundary_attention(self.boundary_norm(boundary), q)",
        "boundary = boundary + self.boundary_attention(self.boundary_norm(action), q)",
        "the boundary update queries with the action features",
    ),
    M(
        "interact.fblock_action_queries_only",
        "InterAct MFAI",
        "frames read all A + 1 queries",
        IA,
        "q = self.query_norm(queries)",
        "q = self.query_norm(queries[:, :-1])",
        "frames read the action queries only",
    ),
    M(
        "interact.boundary_logit_action_query",
        "InterAct queries",
        "boundary logit from the boundary query",
        IA,
        'boundary_logits = torch.einsum("bd,btd->bt", queries[:, -1], boundary) * scale',
        'boundary_logits = torch.einsum("bd,btd->bt", queries[:, 0], boundary) * scale',
        "the boundary logit from the first action query",
    ),
    M(
        "interact.boundary_logit_action_features",
        "InterAct queries",
        "boundary logit from F_b",
        IA,
        'boundary_logits = torch.einsum("bd,btd->bt", queries[:, -1], boundary) * scale',
        'boundary_logits = torch.einsum("bd,btd->bt", queries[:, -1], action) * scale',
        "the boundary logit from the action features",
    ),
    M(
        "interact.action_logits_shifted",
        "InterAct queries",
        "action logits from the A action queries",
        IA,
        'action_logits = torch.einsum("bad,btd->bat", queries[:, :-1], action) * scale',
        'action_logits = torch.einsum("bad,btd->bat", queries[:, 1:], action) * scale',
        "action logits from queries 1..A (the boundary query in, the first action query out)",
    ),
    M(
        "interact.stage0_trained",
        "InterAct loss",
        "stages 1..H trained",
        IA,
        "return slice(1, None) if self.action_logits.shape[0] > 1 else slice(0, 1)",
        "return slice(0, None)",
        "stage 0 trained too",
    ),
]


def _replace_once(text: str, mutation: Mutation) -> str | None:
    if text.count(mutation.old) != 1:
        return None
    return text.replace(mutation.old, mutation.new)


def _fix_pairs(mutation: Mutation, text: str) -> str:
    """A mutation that introduces a name used by a second edit (the residual one)."""
    if mutation.id == "star.layer_mlp_residual_from_input":
        text = text.replace(
            "return self.norm_mlp(self.dropout(self.mlp(z)) + z)",
            "return self.norm_mlp(self.dropout(self.mlp(z)) + z0)",
        )
    return text


def _pytest_in_child(args: list[str], log: Path) -> int:
    """Run pytest in a forked child (torch is imported once, in the parent; the library is
    imported fresh in every child, so each sees its own mutation). Returns the exit code."""
    pid = os.fork()
    if pid == 0:  # the child: output to the log, never return into the parent's code
        code = 3
        try:
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.chdir(ROOT)
            sys.path.insert(0, str(ROOT))
            sys.dont_write_bytecode = True  # no cached bytecode of a mutated file, ever
            import pytest

            code = int(pytest.main(args))
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def run_one(mutation: Mutation, verbose: bool = False) -> dict:
    path = ROOT / mutation.path
    original = path.read_bytes()
    mutated = _replace_once(original.decode(), mutation)
    if mutated is None:
        return {"status": "stale", "failed": [], "seconds": 0.0}
    mutated = _fix_pairs(mutation, mutated)
    tests = [t for t in TESTS[mutation.group] if (ROOT / t).exists()]
    # the tests that build the full presets take seconds each and check sizes, not properties
    args = ["-q", "-p", "no:cacheprovider", "-m", "not slow", "-k", "not presets", "-rfE", "--no-header", *tests]
    log = Path(tempfile.gettempdir()) / f"mutation-{os.getpid()}.log"
    start = time.perf_counter()
    try:
        path.write_text(mutated)
        code = _pytest_in_child(args, log)
    finally:
        path.write_bytes(original)
    seconds = time.perf_counter() - start
    output = log.read_text(errors="replace")
    failed = sorted(set(re.findall(r"^(?:FAILED|ERROR) (\S+)", output, flags=re.M)))
    if verbose:
        print(output[-3000:])
    if code == 0:
        status = "SURVIVED"
    elif failed:
        status = "caught"
    else:
        status = f"error (exit {code})"
    return {"status": status, "failed": failed, "seconds": seconds}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ids", nargs="*", help="mutation ids or id prefixes (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--markdown", help="write the result table to this Markdown file")
    parser.add_argument("--json", help="write every result (all the failed tests) to this JSON file")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each run's pytest output")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTATIONS if not args.ids or any(m.id == i or m.id.startswith(i) for i in args.ids)]
    if args.list:
        for m in chosen:
            print(f"{m.id:45s} {m.path}: {m.what}")
        return 0
    # a stop (Ctrl-C, kill) still restores the file being mutated (the finally in run_one)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    import torch  # noqa: F401  (once, before the forks)

    originals = {m.path: (ROOT / m.path).read_bytes() for m in chosen}
    rows, survived = [], 0
    for m in chosen:
        result = run_one(m, args.verbose)
        short = [f.split("::", 1)[-1] for f in result["failed"]]
        survived += result["status"] != "caught"
        more = f" (+{len(short) - 2})" if len(short) > 2 else ""
        print(f"{m.id:45s} {result['status']:9s} {result['seconds']:5.1f}s  {', '.join(short[:2])}{more}", flush=True)
        text = (ROOT / m.path).read_text()
        line = text.count("\n", 0, text.find(m.old)) + 1 if m.old in text else None
        rows.append({"mutation": asdict(m), "line": line, **result})
    for path, data in originals.items():
        if (ROOT / path).read_bytes() != data:
            raise SystemExit(f"{path} differs from its original after the run: restore it (git checkout)")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    if args.markdown:
        with open(args.markdown, "w") as out:
            out.write("| component | property | mutation (file:line, what changed) | result | caught by |\n")
            out.write("|---|---|---|---|---|\n")
            for row in rows:
                m = row["mutation"]
                by_file = {}
                for node in row["failed"]:
                    file, _, name = node.partition("::")
                    by_file.setdefault(Path(file).stem, []).append(name)
                caught_by = "; ".join(f"{file}: {', '.join(names)}" for file, names in by_file.items())
                where = f"{m['path']}:{row['line']}"
                out.write(
                    f"| {m['component']} | {m['prop']} | `{where}` {m['what']} | {row['status']} | {caught_by} |\n"
                )
    print(f"{len(rows) - survived} of {len(rows)} mutations caught")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
