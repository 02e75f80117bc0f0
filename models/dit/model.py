"""SeedDiT: the decoupled spatial/temporal MMDiT of the report's figure 2.

Data flow (B batch, C latent channels, T latent frames, H x W latent grid, L text tokens, D width):

    x_t (B, C, T, H, W) noisy latent    cond (B, C, T, H, W) clean frames    cond_mask (B, T)
        -> concatenate on channels [x_t, cond * mask, mask]          (B, 2C+1, T, H, W)
        -> one token per latent cell (no patchification), Linear     (B, T, H, W, D)
    text (B, L, Dt) -> Linear                                          (B, L, D)
    c = timestep embedding + pooled text                               (B, D)

    depth x [ spatial MMDiT block on frames  (B*T, L + H*W tokens, text stream kept per frame)
              temporal block on windows      (B*nH*nW, T*wh*ww tokens, vision only by default) ]

    -> adaLN + Linear -> velocity (B, C, T, H, W)
"""

from __future__ import annotations

import torch
import torch.utils.checkpoint
from torch import nn

from models.dit.blocks import SpatialMMDiTBlock, TemporalBlock, window_merge, window_partition
from models.dit.config import DiTConfig
from models.dit.layers import TimestepEmbedder, modulate
from models.dit.rope import mm_rope_positions, rope_angles


class SeedDiT(nn.Module):
    def __init__(self, config: DiTConfig) -> None:
        super().__init__()
        self.config = config
        d = config.hidden
        self.x_embed = nn.Linear(config.in_channels, d)
        self.txt_embed = nn.Linear(config.text_dim, d)
        self.pool_embed = nn.Sequential(nn.Linear(config.text_dim, d), nn.SiLU(), nn.Linear(d, d))
        self.t_embed = TimestepEmbedder(d)
        self.spatial = nn.ModuleList(
            SpatialMMDiTBlock(
                d,
                config.heads,
                config.mlp_ratio,
                config.qk_norm,
                update_text=i < config.depth - 1 or config.temporal_sees_text,
            )
            for i in range(config.depth)
        )
        self.temporal = nn.ModuleList(
            TemporalBlock(d, config.heads, config.mlp_ratio, config.qk_norm, config.temporal_sees_text)
            for _ in range(config.depth)
        )
        self.final_norm = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.final_mod = nn.Linear(d, 2 * d)
        self.final_out = nn.Linear(d, config.latent_channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier linears, then zero the adaLN gates and the output (adaLN-Zero, as in DiT)."""
        for m in self.modules():
            if isinstance(m, nn.Linear) and m.weight.device.type != "meta":
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        for block in [*self.spatial, *self.temporal]:
            for mod in (getattr(block, n) for n in ("vis_mod", "txt_mod", "mod") if hasattr(block, n)):
                if mod.proj.weight.device.type != "meta":
                    nn.init.zeros_(mod.proj.weight)
                    nn.init.zeros_(mod.proj.bias)
        for m in (self.final_mod, self.final_out):
            if m.weight.device.type != "meta":
                nn.init.zeros_(m.weight)
                nn.init.zeros_(m.bias)

    def _maybe_checkpoint(self, fn, *args):
        if self.config.activation_checkpointing and self.training and torch.is_grad_enabled():
            return torch.utils.checkpoint.checkpoint(fn, *args, use_reentrant=False)
        return fn(*args)

    def forward(
        self,
        x_t: torch.Tensor,  # (B, C, T, H, W) noisy latents
        t: torch.Tensor,  # (B,) flow time in [0, 1]; 1 = pure noise
        cond: torch.Tensor,  # (B, C, T, H, W) clean conditioning latents (anything where mask = 0)
        cond_mask: torch.Tensor,  # (B, T) 1 where the frame is an instruction to follow
        text: torch.Tensor,  # (B, L, Dt) text-encoder token embeddings
        text_mask: torch.Tensor,  # (B, L) bool, False = padding
        frame_shot: torch.Tensor | None = None,  # (B, T) long shot index per latent frame
        text_shot: torch.Tensor | None = None,  # (B, L) long shot index per text token
    ) -> torch.Tensor:
        cfg = self.config
        b, c_lat, t_len, h, w = x_t.shape
        n_txt = text.shape[1]
        dev = x_t.device
        text_mask = text_mask.bool()
        if frame_shot is None:
            frame_shot = torch.zeros(b, t_len, dtype=torch.long, device=dev)
        if text_shot is None:
            text_shot = torch.zeros(b, n_txt, dtype=torch.long, device=dev)

        # Unified task formulation: [noisy, clean-or-zero conditioning, binary mask] on channels.
        m = cond_mask.to(x_t.dtype)[:, None, :, None, None].expand(b, 1, t_len, h, w)  # (B, 1, T, H, W)
        inp = torch.cat([x_t, cond * m, m], dim=1)  # (B, 2C+1, T, H, W)
        vis = self.x_embed(inp.permute(0, 2, 3, 4, 1))  # (B, T, H, W, D)
        txt = self.txt_embed(text)  # (B, L, D)

        # Conditioning vector: timestep + masked mean of the text (zero for the CFG null text).
        valid = text_mask.unsqueeze(-1).to(text.dtype)  # (B, L, 1)
        pooled = (text * valid).sum(1) / valid.sum(1).clamp(min=1.0)  # (B, Dt)
        c = self.t_embed(t) + self.pool_embed(pooled)  # (B, D)

        # MM-RoPE angles.
        text_pos, vis_pos = mm_rope_positions(frame_shot.cpu(), text_shot.cpu(), text_mask.cpu(), h, w)
        txt_ang = rope_angles(text_pos, cfg.rope_dims, cfg.rope_theta).to(dev)  # (B, L, hd/2)
        vis_ang = rope_angles(vis_pos, cfg.rope_dims, cfg.rope_theta).to(dev)  # (B, T, H, W, hd/2)
        half = vis_ang.shape[-1]

        # Spatial layers: frames folded into the batch, N = B*T.
        vis_ang_s = vis_ang.reshape(b * t_len, h * w, half)  # (B*T, H*W, hd/2)
        txt_ang_s = txt_ang.repeat_interleave(t_len, 0)  # (B*T, L, hd/2)
        txt_valid_s = text_mask.repeat_interleave(t_len, 0)  # (B*T, L)
        key_valid = torch.cat([txt_valid_s, torch.ones(b * t_len, h * w, dtype=torch.bool, device=dev)], 1)
        if cfg.text_scope == "own":
            own = (text_shot[:, None, :] == frame_shot[:, :, None]) & text_mask[:, None, :]  # (B, T, L)
            own = own.reshape(b * t_len, n_txt)
            vis_rows = torch.cat([own, key_valid[:, n_txt:]], 1)  # (B*T, L+HW)
            rows = torch.cat(
                [key_valid[:, None, :].expand(-1, n_txt, -1), vis_rows[:, None, :].expand(-1, h * w, -1)], 1
            )  # (B*T, L+HW, L+HW)
            s_mask = rows[:, None]  # (B*T, 1, L+HW, L+HW)
        else:
            s_mask = key_valid[:, None, None, :]  # (B*T, 1, 1, L+HW)
        c_s = c.repeat_interleave(t_len, 0)  # (B*T, D)

        # Temporal layers: windows of wh x ww cells across all frames, N = B*nH*nW.
        wh, ww = min(cfg.temporal_window, h), min(cfg.temporal_window, w)
        ang_w, valid_w, (nh, nw) = window_partition(vis_ang, wh, ww)  # (Nw, T*wh*ww, hd/2), (Nw, S)
        n_win = nh * nw
        c_w = c.repeat_interleave(n_win, 0)  # (Nw, D)
        if cfg.temporal_sees_text:
            t_keys = torch.cat([text_mask.repeat_interleave(n_win, 0), valid_w], 1)  # (Nw, L+S)
            txt_ang_w = txt_ang.repeat_interleave(n_win, 0)  # (Nw, L, hd/2)
        else:
            t_keys, txt_ang_w = valid_w, None
        t_mask = t_keys[:, None, None, :]  # (Nw, 1, 1, [L+]S)

        txt_s = txt.repeat_interleave(t_len, 0)  # (B*T, L, D): each frame carries its own text stream
        vis = vis.reshape(b * t_len, h * w, -1)  # (B*T, H*W, D)
        for spatial, temporal in zip(self.spatial, self.temporal, strict=True):
            vis, txt_s = self._maybe_checkpoint(spatial, vis, txt_s, c_s, vis_ang_s, txt_ang_s, s_mask)
            win, _, _ = window_partition(vis.view(b, t_len, h, w, -1), wh, ww)  # (Nw, T*wh*ww, D)
            txt_w = None
            if cfg.temporal_sees_text:
                txt_w = txt_s.view(b, t_len, n_txt, -1).mean(1).repeat_interleave(n_win, 0)  # (Nw, L, D)
            win = self._maybe_checkpoint(temporal, win, c_w, ang_w, t_mask, txt_w, txt_ang_w)
            vis = window_merge(win, b, t_len, h, w, wh, ww).reshape(b * t_len, h * w, -1)  # (B*T, HW, D)

        shift, scale = self.final_mod(torch.nn.functional.silu(c_s)).chunk(2, dim=-1)
        out = self.final_out(modulate(self.final_norm(vis), shift, scale))  # (B*T, H*W, C)
        return out.view(b, t_len, h, w, c_lat).permute(0, 4, 1, 2, 3)  # (B, C, T, H, W)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
