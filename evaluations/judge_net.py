"""The automatic judges' network: per-attribute classifiers over a short video (plain torch, no Dagster).

A judge looks at one shot and predicts the attributes a prompt can ask for: subject, colour, count,
motion, camera, style, scene. Two pathways, because appearance and motion are different evidence:

* appearance: the middle frame, resized to S x S, plus a high-pass copy of it (subjects stand out
  from the smooth scene), stacked as 6 channels -> 2D conv trunk at full resolution; and a
  weight-free HSV colour histogram -> small MLP (colour of a small subject is easier read from it);
* motion: Farneback optical flow of P evenly spaced consecutive frame pairs (weight-free, computed in
  `clip_features`), area-downsampled to S/2 x S/2, stacked as 2P channels -> 2D conv trunk.
  Camera moves are global flow patterns (translation, divergence); subject motion is local flow
  relative to the background, so one conv stack over the flow field separates them.

Three trunks (object, scene, motion; see OBJECT_HEADS etc.), one linear head per attribute. Trained jointly (sum of the
heads' cross-entropies) on the synthetic world's ground truth; checkpoints are safetensors + JSON.

Subjects (subject, colour, count, motion) are read through a supervised subject detector
(`models.perception`), because at S = 48 a subject is 6-14 px wide and the conv trunk over the whole frame
stayed near chance (held-out subject 0.29, colour 0.49, count 0.51, motion 0.46): the detector is
pre-trained on the rendered training shots with the renderer's subject positions (heatmap + shape +
colour at the centre), then frozen; `perceive` runs it on K evenly spaced frames, tracks the primary
subject and returns count / look / camera-compensated motion evidence, which small heads classify.
`perception_frames = 0` restores the object trunk.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm import tqdm

from evaluations.video_metrics import farneback
from models.perception.detector import N_COLOURS, N_SHAPES, DetectorConfig, SubjectDetector, detector_maps, peaks
from models.perception.fitting import fit_frozen_head
from models.perception.tracks import MAX_COUNT, PER_PAIR, feature_size, shot_features


@dataclass(frozen=True)
class JudgeConfig:
    heads: dict[str, list[str]]  # attribute -> class keys, in label-index order
    size: int = 48  # appearance resolution S
    flow_pairs: int = 6  # P
    width: int = 16  # channels of the trunks
    flow_scale: float = 2.0  # flow values (pixels at S) divided by this before the network
    perception_frames: int = 6  # K frames the subject detector reads (0: the old object trunk instead)
    detector_width: int = 24
    detector_threshold: float = 0.3  # heatmap peak threshold (chosen on training shots)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> JudgeConfig:
        return cls(**json.loads(text))


APPEARANCE_CHANNELS = 6  # middle frame RGB + its high-pass (then 3 K channels: the detector's frames)


def perception_indices(t: int, k: int) -> np.ndarray:
    """The K evenly spaced frames (of T) the subject detector reads."""
    return np.linspace(0, t - 1, k).round().astype(int)
HIST_BINS = (12, 3, 3)  # hue x saturation x value bins of the colour histogram


def colour_histogram(frame: np.ndarray) -> np.ndarray:
    """Normalised HSV histogram [prod(HIST_BINS)] of an RGB frame, sqrt-scaled so small regions
    (a subject covers a few percent of the frame) are not drowned by the scene."""
    hsv = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2HSV)
    h = cv2.calcHist([hsv], [0, 1, 2], None, list(HIST_BINS), [0, 180, 0, 256, 0, 256]).ravel()
    return np.sqrt(h / max(h.sum(), 1.0)).astype(np.float32)


def clip_features(video: np.ndarray, cfg: JudgeConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features of a clip [T, H, W, 3] uint8:
    appearance [6 + 3K, S, S] float32 (K = perception_frames) (the middle frame in [0, 1] and the middle frame minus its 15-px
    median, which keeps objects smaller than the window, i.e. subjects, and removes the smooth scene),
    flow [2P, S/2, S/2] float32, colour histogram [H] float32 (mean over first, middle, last frame)."""
    v = np.asarray(video)
    t = v.shape[0]
    s = cfg.size
    resized = lambda f: cv2.resize(np.ascontiguousarray(f), (s, s), interpolation=cv2.INTER_AREA)  # noqa: E731
    idx = [0, t // 2, t - 1]
    frames = [resized(v[i]) for i in idx]
    mid = frames[1]
    highpass = (mid.astype(np.float32) - cv2.medianBlur(mid, 15).astype(np.float32)) / 128.0  # [S, S, 3]
    app = np.concatenate([mid.transpose(2, 0, 1).astype(np.float32) / 255.0, highpass.transpose(2, 0, 1)])  # [6, S, S]
    if cfg.perception_frames:
        sub = [resized(v[i]).transpose(2, 0, 1).astype(np.float32) / 255.0 for i in perception_indices(t, cfg.perception_frames)]
        app = np.concatenate([app, *sub])  # [6 + 3K, S, S]
    hist = np.mean([colour_histogram(f) for f in frames], axis=0)  # [H]
    flows = []
    starts = np.linspace(0, max(t - 2, 0), cfg.flow_pairs).round().astype(int)
    for a in starts:
        b = min(a + 1, t - 1)
        f = farneback(resized(v[a]), resized(v[b])) if b > a else np.zeros((s, s, 2), np.float32)  # [S, S, 2]
        f = cv2.resize(f, (s // 2, s // 2), interpolation=cv2.INTER_AREA)  # [S/2, S/2, 2]
        flows.append(f.transpose(2, 0, 1))
    flow = np.concatenate(flows).astype(np.float32) / cfg.flow_scale  # [2P, S/2, S/2]
    return app, flow, hist


def _trunk(cin: int, width: int) -> nn.Sequential:
    # full resolution first layer: subjects are ~10 px wide at S=48, a strided stem loses their shape;
    # BatchNorm shortens the initial plateau of the small-object heads (measured: subject 0.21 -> 0.31)
    return nn.Sequential(
        nn.Conv2d(cin, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(2 * width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(),
    )


# Which trunk each head reads. Separate trunks, because in one shared trunk the easy global heads
# (scene, style) dominated the features and the small-object heads (subject, count) stayed at chance.
OBJECT_HEADS = ("subject", "count", "colour")
SCENE_HEADS = ("scene", "style")
MOTION_HEADS = ("motion", "camera")


def _identity_linear(n: int, extra: int = 0) -> nn.Linear:
    """Linear over [log posterior (n) | extra]: starts as the detector's own answer."""
    lin = nn.Linear(n + extra, n)
    with torch.no_grad():
        lin.weight.zero_()
        lin.weight[:, :n] = torch.eye(n)
        lin.bias.zero_()
    return lin


# slices of the perception vector (models.perception.tracks.shot_features)
def _percept_slices(k: int) -> dict[str, slice]:
    c = MAX_COUNT + 1 + 4
    return {"count": slice(0, c), "subject": slice(c, c + N_SHAPES),
            "colour": slice(c + N_SHAPES, c + N_SHAPES + N_COLOURS),
            "motion": slice(c + N_SHAPES + N_COLOURS, c + N_SHAPES + N_COLOURS + PER_PAIR * (k - 1) + 2)}


class JudgeNet(nn.Module):
    def __init__(self, cfg: JudgeConfig):
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        k = cfg.perception_frames
        if k:
            self.detector = SubjectDetector(DetectorConfig(cfg.detector_width, cfg.detector_threshold))
            self.detector.requires_grad_(False)
        else:
            self.object = _trunk(APPEARANCE_CHANNELS, w)  # full resolution, max + mean pool: small objects
        self.scene = _trunk(APPEARANCE_CHANNELS, w)  # half resolution, mean + max pool: global look
        self.motion = _trunk(2 * cfg.flow_pairs, w)  # flow field, mean + max pool
        n_hist = int(np.prod(HIST_BINS))
        self.colour = nn.Sequential(nn.Linear(n_hist, 2 * w), nn.ReLU())
        dims = {"object": 4 * w + 2 * w, "scene": 4 * w + 2 * w, "motion": 4 * w}
        self.heads = nn.ModuleDict()
        self.groups = {k_: ("object" if k_ in OBJECT_HEADS else "scene" if k_ in SCENE_HEADS else "motion") for k_ in cfg.heads}
        if k:
            self.slices = _percept_slices(k)
            n_motion = self.slices["motion"].stop - self.slices["motion"].start
        for name, classes in cfg.heads.items():
            if k and name in ("subject", "colour"):
                self.heads[name] = _identity_linear(len(classes))
            elif k and name == "count":
                self.heads[name] = nn.Linear(self.slices["count"].stop, len(classes))
            elif k and name == "motion":
                # track features are few and noisy; dropout keeps the head from memorising shots
                self.heads[name] = nn.Sequential(nn.Linear(n_motion, 48), nn.ReLU(), nn.Dropout(0.3),
                                                 nn.Linear(48, len(classes)))
            else:
                self.heads[name] = nn.Linear(dims[self.groups[name]], len(classes))

    @torch.no_grad()
    def perceive(self, app: torch.Tensor) -> torch.Tensor:
        """app [B, 6 + 3K, S, S] -> perception vector [B, D] (frozen detector, weight-free tracking)."""
        k = self.cfg.perception_frames
        B, _, S, S2 = app.shape
        frames = app[:, APPEARANCE_CHANNELS:].reshape(B * k, 3, S, S2)  # [B K, 3, S, S]
        maps = detector_maps(self.detector, frames).unflatten(0, (B, k))  # [B, K, C, S/2, S/2]
        u8 = (frames.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(0, 2, 3, 1).reshape(B, k, S, S2, 3).numpy()
        out = [shot_features(u8[b], peaks(maps[b], self.cfg.detector_threshold)) for b in range(B)]
        return torch.from_numpy(np.stack(out)) if out else torch.zeros(0, feature_size(k))

    def forward(self, app: torch.Tensor, flow: torch.Tensor, hist: torch.Tensor,
                percept: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        # app [B, 6 (+3K), S, S], flow [B, 2P, S/2, S/2], hist [B, H], percept [B, D] (computed when None)
        c = self.colour(hist)  # [B, 2W]
        base = app[:, :APPEARANCE_CHANNELS]
        s = self.scene(nn.functional.avg_pool2d(base, 2))  # [B, 2W, S/8, S/8]
        m = self.motion(flow)  # [B, 2W, S/8, S/8]
        feats = {
            "scene": torch.cat([s.mean((2, 3)), s.amax((2, 3)), c], dim=1),  # [B, 6W]
            "motion": torch.cat([m.mean((2, 3)), m.amax((2, 3))], dim=1),  # [B, 4W]
        }
        if self.cfg.perception_frames:
            p = self.perceive(app) if percept is None else percept
            sl = self.slices
            inputs = {"subject": p[:, sl["subject"]].clamp_min(1e-4).log(), "colour": p[:, sl["colour"]].clamp_min(1e-4).log(),
                      "count": p[:, sl["count"]], "motion": p[:, sl["motion"]]}
            return {k: head(inputs[k] if k in inputs else feats[self.groups[k]]) for k, head in self.heads.items()}
        o = self.object(base)  # [B, 2W, S/4, S/4]
        # max pooling finds a small subject anywhere; mean pooling keeps how much of it there is (count)
        feats["object"] = torch.cat([o.amax((2, 3)), o.mean((2, 3)), c], dim=1)  # [B, 6W]
        return {k: head(feats[self.groups[k]]) for k, head in self.heads.items()}


@dataclass
class TrainResult:
    model: JudgeNet
    history: list[float] = field(default_factory=list)  # train loss per epoch


def train_judge(
    app: np.ndarray, flow: np.ndarray, hist: np.ndarray, labels: dict[str, np.ndarray], cfg: JudgeConfig, *,
    epochs: int = 12, batch_size: int = 64, lr: float = 3e-3, seed: int = 0, progress: bool = False,
    detector: SubjectDetector | None = None, percept: np.ndarray | None = None,
) -> TrainResult:
    """Train on features [N, ...] and integer labels per head [N] (-1 = unknown, ignored).
    With perception: `detector` is the pre-trained subject detector (copied in, frozen) and `percept`
    [N, D] its per-shot evidence (computed here when None)."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = JudgeNet(cfg)
    p_t = None
    if cfg.perception_frames:
        if detector is None:
            raise ValueError("perception_frames > 0 needs the pre-trained subject detector")
        model.detector.load_state_dict(detector.state_dict())
        p_t = torch.from_numpy(percept) if percept is not None else torch.cat(
            [model.perceive(torch.from_numpy(app[i:i + 256])) for i in range(0, len(app), 256)])
        fit_percept_heads(model, p_t, labels, seed=seed)  # then frozen: the trunks' loop below is too short for them
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=1e-4)
    a_t, f_t, h_t = torch.from_numpy(app), torch.from_numpy(flow), torch.from_numpy(hist)
    y_t = {k: torch.from_numpy(v.astype(np.int64)) for k, v in labels.items()}
    n = a_t.shape[0]
    steps = epochs * ((n + batch_size - 1) // batch_size)
    # cosine decay from the start: a one-cycle warm-up left the small-subject heads at chance
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(steps, 1), eta_min=lr * 0.05)
    loss_fn = nn.CrossEntropyLoss(ignore_index=-1)
    history = []
    for _ in tqdm(range(epochs), desc="judge epochs", disable=not progress):
        model.train()
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for i in range(0, n, batch_size):
            b = perm[i : i + batch_size]
            if len(b) < 2:  # BatchNorm needs two samples
                continue
            app_b = a_t[b]  # [B, 6, S, S]
            # mirror half the appearance inputs: subject, colour, count, scene and style do not change
            # under a horizontal flip (the flow input is not flipped, so motion labels stay valid)
            flip = torch.rand(len(b), generator=gen) < 0.5
            app_b = torch.where(flip[:, None, None, None], app_b.flip(-1), app_b)
            out = model(app_b, f_t[b], h_t[b], None if p_t is None else p_t[b])
            loss = sum(loss_fn(out[k], y_t[k][b]) for k in cfg.heads)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(b)
        history.append(total / n)
    model.eval()
    return TrainResult(model, history)


PERCEPT_HEADS = ("subject", "colour", "count", "motion")


def fit_percept_heads(model: JudgeNet, percept: torch.Tensor, labels: dict[str, np.ndarray], *, epochs: int = 150,
                      batch_size: int = 64, lr: float = 3e-3, seed: int = 0) -> None:
    """Train the heads over the perception vector on their own (cheap: [N, D] features), then freeze them.
    Many epochs with dropout and weight decay 1e-2: measured on held-out shots, motion 0.63 (12 epochs,
    no decay) -> ~0.69."""
    gen = torch.Generator().manual_seed(seed + 7)
    sl = _percept_slices(model.cfg.perception_frames)
    inputs = {"subject": percept[:, sl["subject"]].clamp_min(1e-4).log(),
              "colour": percept[:, sl["colour"]].clamp_min(1e-4).log(),
              "count": percept[:, sl["count"]], "motion": percept[:, sl["motion"]]}
    for name in PERCEPT_HEADS:
        if name not in model.heads:
            continue
        y = torch.from_numpy(labels[name].astype(np.int64))
        fit_frozen_head(model.heads[name], inputs[name], y, gen, epochs=epochs, batch_size=batch_size, lr=lr,
                        ignore_index=-1)


@torch.no_grad()
def predict(model: JudgeNet, app: np.ndarray, flow: np.ndarray, hist: np.ndarray, batch_size: int = 256,
            percept: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Predicted class index per head, [N] each (`percept`: precomputed perception vectors, optional)."""
    model.eval()
    outs: dict[str, list[np.ndarray]] = {k: [] for k in model.cfg.heads}
    for i in range(0, app.shape[0], batch_size):
        o = model(torch.from_numpy(app[i : i + batch_size]), torch.from_numpy(flow[i : i + batch_size]),
                  torch.from_numpy(hist[i : i + batch_size]),
                  None if percept is None else torch.from_numpy(percept[i : i + batch_size]))
        for k, v in o.items():
            outs[k].append(v.argmax(1).numpy())
    return {k: np.concatenate(v) if v else np.zeros(0, dtype=np.int64) for k, v in outs.items()}


def save_judge(model: JudgeNet, folder: str | Path) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(model.cfg.to_json(), encoding="utf-8")
    return folder


def load_judge(folder: str | Path) -> JudgeNet:
    folder = Path(folder)
    cfg = JudgeConfig.from_json((folder / "config.json").read_text(encoding="utf-8"))
    model = JudgeNet(cfg)
    model.load_state_dict(load_file(str(folder / "model.safetensors")))
    model.eval()
    return model
