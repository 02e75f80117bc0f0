"""3D RoPE for visual tokens and multi-shot MM-RoPE for the interleaved text (report 2.2).

Positions follow Qwen2-VL's M-RoPE, the scheme Seaweed and LCT build on: every token has a
(t, h, w) position. Text tokens sit on the diagonal (t = h = w = p, a plain 1D position), visual
tokens of a shot are offset by the position right after their caption. Shots are laid out in
temporal order, each caption immediately before its frames:

    [caption 1] [frames of shot 1] [caption 2] [frames of shot 2] ...

so a frame's nearest text (in relative position) is its own shot's caption, and the jump in t
between the last frame of one shot and the first of the next marks the cut.
"""

from __future__ import annotations

import torch


def mm_rope_positions(
    frame_shot: torch.Tensor,  # (B, T) long: shot index of each latent frame, non-decreasing
    text_shot: torch.Tensor,  # (B, L) long: shot index of each text token (ignored where masked)
    text_mask: torch.Tensor,  # (B, L) bool: True for real tokens, False for padding
    height: int,
    width: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (text_pos (B, L, 3), vis_pos (B, T, H, W, 3)) integer positions.

    Walk the shots in order with a cursor: a shot's n valid caption tokens take positions
    cursor .. cursor+n-1 on all three axes; its F frames then take t = s + j, h = s + y, w = s + x
    with s the cursor after the caption; the cursor then moves past the largest visual index
    (s + max(F, H, W)). Padded text tokens get position 0; they are masked out of attention, so
    the amount of padding changes nothing.
    """
    bsz, frames = frame_shot.shape
    text_len = text_shot.shape[1]
    text_pos = torch.zeros(bsz, text_len, 3, dtype=torch.long)
    vis_pos = torch.zeros(bsz, frames, height, width, 3, dtype=torch.long)
    ys = torch.arange(height).view(height, 1).expand(height, width)
    xs = torch.arange(width).view(1, width).expand(height, width)
    for b in range(bsz):
        shots = torch.unique(torch.cat([frame_shot[b], text_shot[b][text_mask[b]]]))
        cursor = 0
        for shot in shots.tolist():
            tok = torch.nonzero(text_mask[b] & (text_shot[b] == shot)).flatten()
            if tok.numel():
                p = cursor + torch.arange(tok.numel())
                text_pos[b, tok] = p.view(-1, 1).expand(-1, 3)
                cursor += tok.numel()
            fr = torch.nonzero(frame_shot[b] == shot).flatten()
            if fr.numel():
                for j, f in enumerate(fr.tolist()):
                    vis_pos[b, f, :, :, 0] = cursor + j
                    vis_pos[b, f, :, :, 1] = cursor + ys
                    vis_pos[b, f, :, :, 2] = cursor + xs
                cursor += max(fr.numel(), height, width)
    return text_pos, vis_pos


def rope_angles(pos: torch.Tensor, dims: tuple[int, int, int], theta: float) -> torch.Tensor:
    """Rotation angles for integer positions.

    pos: (..., 3) -> angles (..., head_dim // 2). Each axis a gets dims[a] // 2 frequencies
    theta^(-2i/dims[a]); the three axes are concatenated along the channel dimension.
    """
    parts = []
    for axis, d in enumerate(dims):
        freqs = theta ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)  # (d/2,)
        parts.append(pos[..., axis : axis + 1].to(torch.float64) * freqs)  # (..., d/2)
    return torch.cat(parts, dim=-1).to(torch.float32)


def apply_rope(x: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Rotate channel pairs (2i, 2i+1) of x by angles.

    x: (N, heads, S, head_dim); angles: (N, S, head_dim // 2), broadcast over heads.
    """
    cos = angles.cos().unsqueeze(1).to(x.dtype)  # (N, 1, S, hd/2)
    sin = angles.sin().unsqueeze(1).to(x.dtype)
    x1, x2 = x[..., 0::2], x[..., 1::2]  # (N, heads, S, hd/2) each
    out = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)  # (N, heads, S, hd/2, 2)
    return out.flatten(-2)
