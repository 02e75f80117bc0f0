"""The embedded captioner's networks: a frame-level 2D CNN visual encoder and a transformer caption decoder.

The report trains its caption model from Tarsier2 with the visual encoder frozen and the language
model fully fine-tuned. The embedded default keeps that split at small size:

- `VisualEncoder` sees one shot through a weight-free front end (`shot_inputs`: the middle, first and
  last frames in RGB at S x S, the middle frame's foreground, and low-resolution Farneback optical
  flow between consecutive sampled frames) and three 2D CNN pathways: a scene grid (8 x 8 tokens;
  camera, scene, style), an object token (middle frame + foreground, soft global max pooling;
  subject, colour, count) and a motion token (residual flow = flow minus the camera's median flow;
  subject motion). It is pre-trained in a first phase with per-attribute classification heads, each
  routed to the pathway that can see its attribute, and then frozen.
- With `view_height > 0` the frozen encoder also holds a supervised subject detector
  (`models/captioner/perception.py`, trained before phase 1 on rendered shots with subject positions,
  reading frames at native aspect); its per-shot evidence feeds the subject, colour, count, motion and
  groups heads and is one more memory token. Scene, camera and style keep the pathways above.
- `CaptionDecoder` is the trainable language side: a causal transformer prompted with a language and
  a form tag (`<en>`/`<zh>`, `<long>`/`<short>`) that cross-attends to the frozen visual tokens plus
  one token per attribute head (its class posterior), trained with teacher forcing.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class CaptionerConfig:
    vocab_size: int = 256
    width: int = 64  # visual token and decoder width
    heads: int = 4
    decoder_layers: int = 2
    max_tokens: int = 48  # longest per-shot caption in (phrase-level) tokens
    frames: int = 8  # frames per shot
    frame_size: int = 64  # square side of the appearance frames; flow is computed at this size, pooled 2x
    channels: int = 32  # CNN base channels
    # attribute heads of phase 1: name -> number of classes
    heads_spec: dict[str, int] = field(default_factory=dict)
    # subject evidence from the frozen supervised detector (models/captioner/perception.py); the detector
    # reads frames at native aspect, view_height x view_width (0: off, the CNN object/motion tokens only)
    view_height: int = 0
    view_width: int = 0
    perception_frames: int = 6  # K frames the detector reads per shot
    detector_width: int = 24
    detector_threshold: float = 0.3  # heatmap peak threshold, chosen on the detector's training shots
    # decoding: 1 = greedy; k > 1 = beam search keeping the k best captions, of which the captioner returns
    # the most likely one its grammar check accepts (`EmbeddedCaptioner.accept`)
    beams: int = 1

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def grid(self) -> int:
        return 8  # tokens per side: both branches reduce to an 8 x 8 grid

    @property
    def posterior_size(self) -> int:
        return max(self.heads_spec.values() or [1])

    @property
    def perceives(self) -> bool:
        return self.view_height > 0

    @property
    def percept_size(self) -> int:
        from models.captioner.perception import percept_size

        return percept_size(self.perception_frames) if self.perceives else 0

    @property
    def memory_dim(self) -> int:
        """Width of one memory token: feature | attribute tag | class posterior (or the detector's evidence)."""
        return max(self.width + len(self.heads_spec) + self.posterior_size, self.percept_size)


# ----------------------------------------------------------------------------------------------
# Weight-free front end (part of the frozen encoder)
# ----------------------------------------------------------------------------------------------

FLOW_SCALE = 2.0  # flow in pixels of the S-sized frame is divided by this (unit-ish variance)


def _farneback(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # a, b: (S, S) uint8 grey -> (S, S, 2) float32 flow; single-threaded OpenCV keeps it deterministic
    return cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 2, 9, 2, 5, 1.1, 0)


@torch.no_grad()
def shot_inputs(frames: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """frames (B, T, 3, S', S') in [0, 1] (or uint8) -> appearance (B, 12, S, S), motion (B, 2(T-1), S/2, S/2).

    Appearance: middle, first and last frame, normalised to zero mean, and the middle frame's foreground. Motion: optical flow between
    consecutive sampled frames (x and y components) computed at S/2 (cheap), scaled by `FLOW_SCALE`.
    """
    if frames.dtype == torch.uint8:
        frames = frames.float().div_(255.0)
    B, T = frames.shape[:2]
    if tuple(frames.shape[-2:]) != (size, size):  # native-aspect frames are squashed for these pathways
        frames = F.interpolate(frames.flatten(0, 1), size=(size, size), mode="area").unflatten(0, (B, T))
    mid = T // 2
    # foreground of the middle frame: the frame minus its median-filtered background (a median over a
    # window wider than a subject keeps the textured scene and drops the small subjects), so the object
    # pathway sees the subjects' colour and outline with the background texture suppressed
    k = (size // 4) | 1
    mid_u8 = (frames[:, mid].clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).permute(0, 2, 3, 1).numpy()  # (B, S, S, 3)
    background = np.stack([cv2.medianBlur(np.ascontiguousarray(f), k) for f in mid_u8])  # (B, S, S, 3)
    fg = frames[:, mid] - torch.from_numpy(background).permute(0, 3, 1, 2).float().div(255.0)  # (B, 3, S, S)
    app = torch.cat([frames[:, mid] - 0.5, frames[:, 0] - 0.5, frames[:, -1] - 0.5, 2.0 * fg], dim=1)  # (B, 12, S, S)
    half = size // 2
    grey = (frames * torch.tensor([0.299, 0.587, 0.114]).view(1, 1, 3, 1, 1)).sum(2)  # (B, T, S, S)
    grey = F.avg_pool2d(grey, 2)  # (B, T, S/2, S/2)
    grey = (grey.clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).numpy()
    flows = np.zeros((B, T - 1, 2, half, half), dtype=np.float32)
    for b in range(B):
        for t in range(T - 1):
            flows[b, t] = _farneback(grey[b, t], grey[b, t + 1]).transpose(2, 0, 1)
    motion = torch.from_numpy(flows).flatten(1, 2) * (2.0 / FLOW_SCALE)  # (B, 2(T-1), S/2, S/2) in S-pixels
    return app.contiguous(), motion


def _block(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


def residual_flow(motion: torch.Tensor, frames: int) -> torch.Tensor:
    """Flow minus its per-frame spatial median: the camera's share removed, the subjects' own motion left.

    motion (B, 2(T-1), h, h) -> (B, T-1, 2, h, h). A pan or tilt moves the whole background; the
    median over the frame is that background motion, so what remains is the subjects' displacement
    relative to the scene, which is what the labelled motion means.
    """
    B, _, h, w = motion.shape
    flow = motion.view(B, frames - 1, 2, h, w)  # (B, T-1, 2, h, w)
    med = flow.flatten(3).median(dim=-1).values  # (B, T-1, 2)
    return flow - med[..., None, None]


def motion_statistics(res: torch.Tensor) -> torch.Tensor:
    """Magnitude-weighted moments of the residual flow per frame pair: (B, T-1, 2, h, w) -> (B, 5(T-1)).

    Per pair: mean residual vector (direction of travel: left/right/up/down, bounce, orbit), its
    divergence and curl about the moving region's centroid (grow/shrink, rotate) and the mean
    magnitude (still or not). Weighted by magnitude, so the small moving subject dominates, not the
    static background.
    """
    B, P, _, h, w = res.shape
    mag = res.norm(dim=2)  # (B, P, h, w)
    wgt = mag / (mag.sum(dim=(-2, -1), keepdim=True) + 1e-3)  # (B, P, h, w)
    ys = torch.linspace(-1, 1, h).view(1, 1, h, 1)
    xs = torch.linspace(-1, 1, w).view(1, 1, 1, w)
    cx, cy = (wgt * xs).sum((-2, -1), keepdim=True), (wgt * ys).sum((-2, -1), keepdim=True)
    dx, dy = xs - cx, ys - cy  # (B, P, h, w) offsets from the moving region's centroid
    rx, ry = res[:, :, 0], res[:, :, 1]
    mean = torch.stack([(wgt * rx).sum((-2, -1)), (wgt * ry).sum((-2, -1))], dim=-1)  # (B, P, 2)
    div = (wgt * (dx * rx + dy * ry)).sum((-2, -1))  # (B, P)
    curl = (wgt * (dx * ry - dy * rx)).sum((-2, -1))  # (B, P)
    energy = mag.mean(dim=(-2, -1))  # (B, P)
    stats = torch.cat([mean, div[..., None] * 4, curl[..., None] * 4, energy[..., None]], dim=-1)  # (B, P, 5)
    return stats.flatten(1)


class VisualEncoder(nn.Module):
    """Shot inputs -> visual tokens (B, 64 + 2, W): an 8 x 8 scene grid plus an object and a motion token.

    Three pathways, because one fused grid averaged the small subjects away:
    - scene grid (camera, scene, style; what the decoder reads as the picture): middle/first/last
      frames and raw flow through strided CNNs, fused into an 8 x 8 grid with learned positions;
    - object token (subject, colour, count): the middle frame alone at full resolution through a CNN
      that keeps a S/4 map, then global MAX pooling (a subject is a small object on a textured
      background; average pooling washes it out) beside a learned spatial attention (the first-named
      subject sits at a fixed screen anchor at mid-shot);
    - motion token (subject motion): the residual flow (flow minus its median = minus the camera)
      through a small CNN with max and mean pooling, plus its magnitude-weighted moments.
    """

    def __init__(self, cfg: CaptionerConfig):
        super().__init__()
        c, w = cfg.channels, cfg.width
        self.size, self.frames = cfg.frame_size, cfg.frames
        # scene grid: appearance (9, S, S) -> (2c, S/8, S/8); motion (2(T-1), S/2, S/2) -> (c, S/8, S/8)
        self.appearance = nn.Sequential(_block(9, c, 2), _block(c, 2 * c, 2), _block(2 * c, 2 * c, 2))
        self.motion = nn.Sequential(_block(2 * (cfg.frames - 1), c, 2), _block(c, c, 2))
        self.fuse = nn.Sequential(_block(3 * c, w, 1), nn.Conv2d(w, w, 3, padding=1))
        g = cfg.grid
        self.pool_to = (g, g)
        self.pos = nn.Parameter(torch.zeros(g * g, w))
        nn.init.normal_(self.pos, std=0.02)
        # object pathway: middle frame (3, S, S) -> (w, S/4, S/4)
        self.object = nn.Sequential(_block(6, c, 1), _block(c, 2 * c, 2), _block(2 * c, 2 * c, 1),
                                    _block(2 * c, w, 2), nn.Conv2d(w, w, 3, padding=1))
        self.object_att = nn.Conv2d(w, 1, 1)
        self.object_proj = nn.Sequential(nn.Linear(2 * w + 2, w), nn.GELU(), nn.Linear(w, w))
        # motion pathway: residual flow (2(T-1), S/2, S/2) -> (w, S/8, S/8), plus 5(T-1) moments
        self.residual = nn.Sequential(_block(2 * (cfg.frames - 1), c, 1), _block(c, 2 * c, 2), _block(2 * c, w, 2))
        self.motion_proj = nn.Sequential(nn.Linear(2 * w + 5 * (cfg.frames - 1), w), nn.GELU(), nn.Linear(w, w))

    def forward_inputs(self, app: torch.Tensor, motion: torch.Tensor) -> torch.Tensor:
        B = app.shape[0]
        x = torch.cat([self.appearance(app[:, :9]), self.motion(motion)], dim=1)  # (B, 3c, S/8, S/8)
        x = F.adaptive_avg_pool2d(self.fuse(x), self.pool_to)  # (B, W, 8, 8)
        grid = x.flatten(2).transpose(1, 2) + self.pos  # (B, 64, W)

        o = self.object(torch.cat([app[:, :3], app[:, 9:]], dim=1))  # (B, W, S/4, S/4): middle frame + foreground
        att = self.object_att(o).flatten(2).softmax(dim=-1)  # (B, 1, N)
        n = o.shape[-1]
        coords = torch.stack(torch.meshgrid(torch.linspace(-1, 1, n), torch.linspace(-1, 1, n), indexing="ij"))
        where = (att * coords.flatten(1)[None]).sum(-1)  # (B, 2) where the attention looked
        # soft global max (log-mean-exp, sharpness 8): max-like, so a small subject is not averaged away,
        # but every position gets gradient (a hard max trained the pathway far too slowly)
        peak = torch.logsumexp(8.0 * o.flatten(2), dim=-1).sub(math.log(o.shape[-1] * o.shape[-2])).div(8.0)  # (B, W)
        obj = torch.cat([peak, (att * o.flatten(2)).sum(-1), where], dim=-1)  # (B, 2W + 2)
        obj = self.object_proj(obj)  # (B, W)

        res = residual_flow(motion, self.frames)  # (B, T-1, 2, h, h)
        r = self.residual(res.flatten(1, 2))  # (B, W, S/8, S/8)
        mov = torch.cat([r.flatten(2).amax(-1), r.flatten(2).mean(-1), motion_statistics(res)], dim=-1)
        mov = self.motion_proj(mov)  # (B, W)
        return torch.cat([grid, obj[:, None], mov[:, None]], dim=1)  # (B, 66, W)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        # frames: (B, T, 3, S', S')
        return self.forward_inputs(*shot_inputs(frames, self.size))


OBJECT_TOKEN, MOTION_TOKEN = -2, -1
# which pathway each head reads. Routing matters: when every head read every pathway, the easy
# whole-frame attributes (scene, style) took over the object pathway and subject/colour stayed at
# chance; each attribute now trains only the pathway that can see it.
APPEARANCE_HEADS = ("subject", "colour", "count", "groups")  # and their 2nd/3rd-group versions
MOTION_HEADS = ("motion",)


# with the detector: the first-named subject's attributes and the group count read its evidence
PERCEPT_HEADS = ("subject", "colour", "count", "motion", "groups")


def head_route(name: str, perceives: bool = False) -> str:
    if perceives and name in PERCEPT_HEADS:
        return "percept"
    base = name.rstrip("23")
    return "object" if base in APPEARANCE_HEADS else "motion" if base in MOTION_HEADS else "scene"


def percept_head_input(name: str, percept: torch.Tensor, frames: int) -> torch.Tensor:
    """The slice of the detector's evidence a percept head reads (posteriors as log probabilities)."""
    from models.captioner.perception import percept_slices

    sl = percept_slices(frames)
    if name in ("subject", "colour"):
        return percept[:, sl[name]].clamp_min(1e-4).log()
    if name == "count":  # peaks of all subjects, and of those that look like the primary one
        return torch.cat([percept[:, sl["count_all"]], percept[:, sl["same"]]], dim=-1)
    if name == "groups":
        return torch.cat([percept[:, sl["count_all"]], percept[:, sl["groups"]]], dim=-1)
    return percept[:, sl["motion"]]


def percept_input_size(name: str, frames: int) -> int:
    return percept_head_input(name, torch.zeros(1, _percept_size(frames)), frames).shape[-1]


def _percept_size(frames: int) -> int:
    from models.captioner.perception import percept_size

    return percept_size(frames)


class AttributeHeads(nn.Module):
    """Phase 1 objective: one classifier per attribute over its pathway's tokens.

    - object heads (subject, colour, count, groups): the object token;
    - motion heads: the motion token beside the object token (a motion is told apart partly by what
      moves; detached, so motion does not reshape the object pathway);
    - scene heads (camera, scene, style): their own attention pooling of the scene grid, the grid's
      mean and max, and the motion token (detached; the camera is the flow the subjects do not explain).
    Returns logits per head and the heads' hidden features (B, A, W), which the frozen encoder hands
    to the decoder as one token per attribute.
    """

    def __init__(self, cfg: CaptionerConfig):
        super().__init__()
        self.cfg = cfg
        self.names = sorted(cfg.heads_spec)
        self.routes = {k: head_route(k, cfg.perceives) for k in self.names}
        w = cfg.width
        width_in = {"object": w, "motion": 2 * w, "scene": 4 * w}
        if cfg.perceives:
            width_in |= {f"percept:{k}": percept_input_size(k, cfg.perception_frames) for k in PERCEPT_HEADS}
        # zero queries: every scene head starts from uniform (mean) pooling and learns where to look
        self.queries = nn.Parameter(torch.zeros(len(self.names), w))
        self.key = nn.Linear(w, w)
        # a percept head: the detector's few, noisy track features; dropout keeps it from memorising shots
        self.hidden = nn.ModuleDict({
            k: nn.Sequential(nn.Linear(width_in[f"percept:{k}"], w), nn.GELU(), nn.Dropout(0.2))
            if self.routes[k] == "percept" else nn.Sequential(nn.Linear(width_in[self.routes[k]], w), nn.GELU())
            for k in self.names})
        self.out = nn.ModuleDict({k: nn.Linear(w, cfg.heads_spec[k]) for k in self.names})

    def forward(self, tokens: torch.Tensor, percept: torch.Tensor | None = None
                ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        # tokens: (B, 64 + 2, W); percept: (B, D) the detector's evidence (when cfg.perceives)
        grid, obj, mov = tokens[:, :-2], tokens[:, OBJECT_TOKEN], tokens[:, MOTION_TOKEN]
        att = torch.einsum("aw,bnw->ban", self.queries, self.key(grid)) / grid.shape[-1] ** 0.5  # (B, A, N)
        pooled = torch.einsum("ban,bnw->baw", att.softmax(dim=-1), grid)  # (B, A, W)
        scene = torch.cat([grid.mean(dim=1), grid.amax(dim=1), mov.detach()], dim=-1)  # (B, 3W)
        inputs = {"object": lambda i: obj, "motion": lambda i: torch.cat([mov, obj.detach()], dim=-1),
                  "scene": lambda i: torch.cat([pooled[:, i], scene], dim=-1),
                  "percept": lambda i: percept_head_input(self.names[i], percept, self.cfg.perception_frames)}
        hidden = torch.stack([self.hidden[k](inputs[self.routes[k]](i)) for i, k in enumerate(self.names)],
                             dim=1)  # (B, A, W)
        logits = {k: self.out[k](hidden[:, i]) for i, k in enumerate(self.names)}
        return logits, hidden


class FrozenVision(nn.Module):
    """The phase-1 encoder and its attribute heads, frozen: the memory the language side reads.

    Output (B, 66 + A, W + A + P): the 64 scene-grid tokens, the object and the motion token
    [feature | 0 | 0] and one token per attribute head [head's hidden feature | one-hot tag | class
    posterior zero-padded to P], so the decoder can read both
    the raw visual evidence and what the pre-trained encoder recognised.
    """

    def __init__(self, encoder: VisualEncoder, heads: AttributeHeads, detector: nn.Module | None = None):
        super().__init__()
        self.encoder, self.heads = encoder, heads
        self.cfg = heads.cfg
        if self.cfg.perceives:  # the frozen subject detector (its weights travel in the checkpoint)
            from models.perception.detector import DetectorConfig, SubjectDetector

            self.detector = detector or SubjectDetector(DetectorConfig(self.cfg.detector_width,
                                                                       self.cfg.detector_threshold))

    def perceive(self, frames: torch.Tensor) -> torch.Tensor | None:
        """frames (B, T, 3, h, w) -> the detector's per-shot evidence (B, D), None without a detector."""
        if not self.cfg.perceives:
            return None
        from models.captioner.perception import shot_percepts

        c = self.cfg
        return shot_percepts(self.detector, frames, (c.view_height, c.view_width), c.perception_frames,
                             c.detector_threshold)

    def memory(self, tokens: torch.Tensor, percept: torch.Tensor | None = None) -> torch.Tensor:
        B, N, W = tokens.shape
        logits, pooled = self.heads(tokens, percept)
        A = len(logits)
        P = max(v.shape[-1] for v in logits.values())
        D = self.cfg.memory_dim
        grid = F.pad(tokens, (0, D - W))  # (B, N, D)
        tags = torch.eye(A, dtype=tokens.dtype).expand(B, A, A)  # (B, A, A)
        post = torch.stack([F.pad(v.softmax(dim=-1), (0, P - v.shape[-1])) for v in logits.values()], dim=1)  # (B, A, P)
        attrs = F.pad(torch.cat([pooled, tags, post], dim=-1), (0, D - W - A - P))  # (B, A, D)
        parts = [grid, attrs]
        if percept is not None:  # the detector's raw evidence as one more token (B, 1, D)
            parts.append(F.pad(percept, (0, D - percept.shape[-1]))[:, None])
        return torch.cat(parts, dim=1)

    def forward_inputs(self, app: torch.Tensor, motion: torch.Tensor, percept: torch.Tensor | None = None) -> torch.Tensor:
        return self.memory(self.encoder.forward_inputs(app, motion), percept)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.memory(self.encoder(frames), self.perceive(frames))

    def classify(self, frames: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.heads(self.encoder(frames), self.perceive(frames))[0]


class CaptionDecoder(nn.Module):
    """Causal transformer over caption tokens with cross-attention to the frozen visual memory."""

    def __init__(self, cfg: CaptionerConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.width)
        self.pos = nn.Parameter(torch.zeros(cfg.max_tokens + 4, cfg.width))
        nn.init.normal_(self.pos, std=0.02)
        layer = nn.TransformerDecoderLayer(
            cfg.width, cfg.heads, dim_feedforward=4 * cfg.width, dropout=0.0, batch_first=True, norm_first=True
        )
        self.layers = nn.TransformerDecoder(layer, cfg.decoder_layers)
        # the projector from frozen visual memory to the decoder width (trained with the language side)
        self.visual_proj = nn.Sequential(nn.Linear(cfg.memory_dim, cfg.width), nn.GELU(),
                                         nn.Linear(cfg.width, cfg.width))
        # one learned embedding per (attribute head, class), mixed by the frozen head's posterior and added
        # to that head's memory token: the decoder then reads "which class" as a vector it can copy into a
        # word, instead of having to learn tag x posterior products through the shared projector (it did
        # not: the encoder's motion head was right 0.56 of the time and the captions 0.21)
        self.n_visual = cfg.grid * cfg.grid + 2  # scene grid + object + motion tokens precede the head tokens
        self.n_heads, self.n_classes = len(cfg.heads_spec), cfg.posterior_size
        self.class_embed = nn.Parameter(torch.randn(self.n_heads, self.n_classes, cfg.width) * 0.5)
        self.norm = nn.LayerNorm(cfg.width)
        self.lm_head = nn.Linear(cfg.width, cfg.vocab_size)

    def project(self, visual: torch.Tensor) -> torch.Tensor:
        """Frozen memory (B, M, D) -> decoder memory (B, M, W): the projector, plus each head's class embedding."""
        m = self.visual_proj(visual)
        a0, A, P, W = self.n_visual, self.n_heads, self.n_classes, self.cfg.width
        post = visual[:, a0:a0 + A, W + A:W + A + P]  # (B, A, P): the head tokens' class posteriors
        heads = m[:, a0:a0 + A] + torch.einsum("bap,apw->baw", post, self.class_embed)  # (B, A, W)
        return torch.cat([m[:, :a0], heads, m[:, a0 + A:]], dim=1)

    def forward(self, ids: torch.Tensor, visual: torch.Tensor) -> torch.Tensor:
        # ids: (B, L) token ids; visual: (B, M, D) memory -> logits (B, L, V)
        return self._run(ids, self.project(visual))

    def _run(self, ids: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        L = ids.shape[1]
        x = self.embed(ids) + self.pos[:L]
        causal = torch.triu(torch.full((L, L), float("-inf"), device=ids.device), diagonal=1)
        x = self.layers(x, memory, tgt_mask=causal, tgt_is_causal=True)
        return self.lm_head(self.norm(x))

    @torch.no_grad()
    def generate(self, prompt: torch.Tensor, visual: torch.Tensor, max_new: int, eos: int) -> torch.Tensor:
        """Greedy, batched decoding (deterministic). prompt (B, P) -> generated ids (B, <= max_new)."""
        memory = self.project(visual)  # projected once, not per step
        ids = prompt
        done = torch.zeros(ids.shape[0], dtype=torch.bool, device=ids.device)
        limit = min(max_new, self.pos.shape[0] - prompt.shape[1])
        for _ in range(limit):
            nxt = self._run(ids, memory)[:, -1].argmax(dim=-1)  # (B,)
            nxt = torch.where(done, torch.full_like(nxt, eos), nxt)
            ids = torch.cat([ids, nxt[:, None]], dim=1)
            done |= nxt == eos
            if bool(done.all()):
                break
        return ids[:, prompt.shape[1]:]

    @torch.no_grad()
    def beam_generate(self, prompt: torch.Tensor, visual: torch.Tensor, max_new: int, eos: int, beams: int
                      ) -> torch.Tensor:
        """Beam search (deterministic): prompt (B, P) -> the `beams` best captions per shot, most likely first,
        (B, beams, <= max_new) ids (a finished beam is padded with `eos`). Scores are summed log-probabilities;
        a beam that emitted `eos` keeps its score and only extends with `eos` (at zero cost)."""
        B, P = prompt.shape
        memory = self.project(visual)  # (B, M, W)
        memory = memory.repeat_interleave(beams, dim=0)  # (B * beams, M, W)
        ids = prompt.repeat_interleave(beams, dim=0)  # (B * beams, P)
        # only the first beam of each shot is live at the start (the others would duplicate it)
        score = torch.full((B, beams), float("-inf"))
        score[:, 0] = 0.0
        done = torch.zeros(B * beams, dtype=torch.bool)
        limit = min(max_new, self.pos.shape[0] - P)
        for _ in range(limit):
            logp = self._run(ids, memory)[:, -1].log_softmax(dim=-1)  # (B * beams, V)
            V = logp.shape[-1]
            # a finished beam: eos at no cost, everything else impossible
            logp = torch.where(done[:, None], torch.full_like(logp, float("-inf")), logp)
            logp[done, eos] = 0.0
            cand = (score.view(-1, 1) + logp).view(B, beams * V)  # (B, beams * V)
            score, flat = cand.topk(beams, dim=-1)  # (B, beams); ties resolved by index: deterministic
            src = flat // V + torch.arange(B)[:, None] * beams  # (B, beams) rows of ids they extend
            tok = (flat % V).view(-1)
            ids = torch.cat([ids[src.view(-1)], tok[:, None]], dim=1)
            done = done[src.view(-1)] | (tok == eos)
            if bool(done.all()):
                break
        return ids[:, P:].view(B, beams, -1)


def caption_loss(logits: torch.Tensor, ids: torch.Tensor, prompt_len: int, pad: int) -> torch.Tensor:
    """Next-token cross-entropy on the caption tokens only (not the prompt, not padding)."""
    target = ids[:, 1:].clone()  # (B, L-1)
    target[:, : prompt_len - 1] = pad
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=pad)
