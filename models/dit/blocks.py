"""The two block types of figure 2: the spatial MMDiT block and the windowed temporal block."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.dit.layers import MLP, QKV, AdaLNModulation, attention, modulate


class SpatialMMDiTBlock(nn.Module):
    """SD3-style joint attention of one frame's visual tokens with the text tokens.

    Vision and text keep separate adaLN, QKV and MLP weights (the modalities differ semantically);
    they meet only inside one attention over the concatenated sequence [text ; vision]. Applied to
    frames folded into the batch (N = B * T), it is the "spatial layer" of the report. Applied to a
    whole video (N = B, S = T * H * W) it is a full 3D-attention MMDiT block, the baseline that the
    benchmark compares against.
    """

    def __init__(self, hidden: int, heads: int, mlp_ratio: float, qk_norm: bool, update_text: bool = True) -> None:
        super().__init__()
        # The last block's text output is never read (SD3's `context_pre_only`): it only gives keys
        # and values, so it has no text output projection or MLP (and no unused parameters for DDP).
        self.update_text = update_text
        self.vis_mod = AdaLNModulation(hidden, 6)
        self.txt_mod = AdaLNModulation(hidden, 6 if update_text else 2)
        self.vis_norm1 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.txt_norm1 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.vis_qkv = QKV(hidden, heads, qk_norm)
        self.txt_qkv = QKV(hidden, heads, qk_norm)
        self.vis_out = nn.Linear(hidden, hidden)
        self.vis_norm2 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.vis_mlp = MLP(hidden, mlp_ratio)
        if update_text:
            self.txt_out = nn.Linear(hidden, hidden)
            self.txt_norm2 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
            self.txt_mlp = MLP(hidden, mlp_ratio)

    def forward(
        self,
        vis: torch.Tensor,  # (N, S, D) visual tokens of one frame (or of a whole video)
        txt: torch.Tensor,  # (N, L, D) text tokens
        c: torch.Tensor,  # (N, D) conditioning (timestep + pooled text)
        vis_angles: torch.Tensor,  # (N, S, hd/2)
        txt_angles: torch.Tensor,  # (N, L, hd/2)
        mask: torch.Tensor,  # bool (N, 1, 1 or L+S, L+S): padded text masked as keys
    ) -> tuple[torch.Tensor, torch.Tensor]:
        v_sh1, v_sc1, v_g1, v_sh2, v_sc2, v_g2 = self.vis_mod(c)
        t_mod = self.txt_mod(c)
        t_sh1, t_sc1 = t_mod[:2]
        vq, vk, vv = self.vis_qkv(modulate(self.vis_norm1(vis), v_sh1, v_sc1))  # (N, heads, S, hd)
        tq, tk, tv = self.txt_qkv(modulate(self.txt_norm1(txt), t_sh1, t_sc1))  # (N, heads, L, hd)
        q = torch.cat([tq, vq], dim=2)  # (N, heads, L+S, hd)
        k = torch.cat([tk, vk], dim=2)
        v = torch.cat([tv, vv], dim=2)
        angles = torch.cat([txt_angles, vis_angles], dim=1)  # (N, L+S, hd/2)
        out = attention(q, k, v, angles, angles, mask)  # (N, L+S, D)
        n_txt = txt.shape[1]
        t_att, v_att = out[:, :n_txt], out[:, n_txt:]
        vis = vis + v_g1.unsqueeze(1) * self.vis_out(v_att)
        vis = vis + v_g2.unsqueeze(1) * self.vis_mlp(modulate(self.vis_norm2(vis), v_sh2, v_sc2))
        if self.update_text:
            t_g1, t_sh2, t_sc2, t_g2 = t_mod[2:]
            txt = txt + t_g1.unsqueeze(1) * self.txt_out(t_att)
            txt = txt + t_g2.unsqueeze(1) * self.txt_mlp(modulate(self.txt_norm2(txt), t_sh2, t_sc2))
        return vis, txt


def window_partition(x: torch.Tensor, wh: int, ww: int) -> tuple[torch.Tensor, torch.Tensor, tuple[int, int]]:
    """Cut every frame into (wh x ww) windows and gather each window's tokens across all frames.

    x: (B, T, H, W, C) -> windows (B * nH * nW, T * wh * ww, C), valid (B * nH * nW, T * wh * ww) bool.
    H and W are zero-padded up to multiples of the window; `valid` marks real cells so padding can be
    masked out of attention.
    """
    b, t, h, w, c = x.shape
    nh, nw = -(-h // wh), -(-w // ww)
    ph, pw = nh * wh - h, nw * ww - w
    valid = torch.ones(b, t, h, w, 1, dtype=torch.bool, device=x.device)
    if ph or pw:
        x = F.pad(x, (0, 0, 0, pw, 0, ph))
        valid = F.pad(valid, (0, 0, 0, pw, 0, ph), value=False)
    x = x.view(b, t, nh, wh, nw, ww, c).permute(0, 2, 4, 1, 3, 5, 6)  # (B, nH, nW, T, wh, ww, C)
    valid = valid.view(b, t, nh, wh, nw, ww, 1).permute(0, 2, 4, 1, 3, 5, 6)
    return x.reshape(b * nh * nw, t * wh * ww, c), valid.reshape(b * nh * nw, t * wh * ww), (nh, nw)


def window_merge(x: torch.Tensor, b: int, t: int, h: int, w: int, wh: int, ww: int) -> torch.Tensor:
    """Inverse of window_partition: (B * nH * nW, T * wh * ww, C) -> (B, T, H, W, C)."""
    nh, nw = -(-h // wh), -(-w // ww)
    c = x.shape[-1]
    x = x.view(b, nh, nw, t, wh, ww, c).permute(0, 3, 1, 4, 2, 5, 6)  # (B, T, nH, wh, nW, ww, C)
    return x.reshape(b, t, nh * wh, nw * ww, c)[:, :, :h, :w]


class TemporalBlock(nn.Module):
    """Vision-only self-attention across all frames inside one spatial window (report 2.2).

    Each window of wh x ww latent cells is attended over every frame at once, so the receptive field
    is global in time while the cost grows linearly with the number of windows. With
    `sees_text=True` (off by default; the practitioner's notes suspect text-blind temporal layers
    cause repeating macro motion) the visual queries may also attend to the text tokens, through a
    separate key/value projection; text is not updated here.
    """

    def __init__(self, hidden: int, heads: int, mlp_ratio: float, qk_norm: bool, sees_text: bool) -> None:
        super().__init__()
        self.mod = AdaLNModulation(hidden, 6)
        self.norm1 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.qkv = QKV(hidden, heads, qk_norm)
        self.out = nn.Linear(hidden, hidden)
        self.norm2 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.mlp = MLP(hidden, mlp_ratio)
        self.sees_text = sees_text
        if sees_text:
            self.txt_norm = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
            self.txt_kv = QKV(hidden, heads, qk_norm)  # only its K and V are used

    def forward(
        self,
        vis: torch.Tensor,  # (Nw, S, D) window tokens, Nw = B * nH * nW, S = T * wh * ww
        c: torch.Tensor,  # (Nw, D)
        angles: torch.Tensor,  # (Nw, S, hd/2)
        mask: torch.Tensor,  # bool (Nw, 1, 1, [L+]S)
        txt: torch.Tensor | None = None,  # (Nw, L, D) when sees_text
        txt_angles: torch.Tensor | None = None,  # (Nw, L, hd/2)
    ) -> torch.Tensor:
        sh1, sc1, g1, sh2, sc2, g2 = self.mod(c)
        q, k, v = self.qkv(modulate(self.norm1(vis), sh1, sc1))  # (Nw, heads, S, hd)
        k_angles = angles
        if self.sees_text:
            assert txt is not None and txt_angles is not None
            _, tk, tv = self.txt_kv(self.txt_norm(txt))  # (Nw, heads, L, hd)
            k = torch.cat([tk, k], dim=2)
            v = torch.cat([tv, v], dim=2)
            k_angles = torch.cat([txt_angles, angles], dim=1)
        vis = vis + g1.unsqueeze(1) * self.out(attention(q, k, v, angles, k_angles, mask))
        vis = vis + g2.unsqueeze(1) * self.mlp(modulate(self.norm2(vis), sh2, sc2))
        return vis
