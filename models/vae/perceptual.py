"""Perceptual distance for VAE training: LPIPS when available, else an LPIPS-structured fallback.

LPIPS (Zhang et al. 2018) compares unit-normalised VGG16 features at five taps through learned
1x1 linear heads. The real backend is the `lpips` package (needs torchvision and downloads weights,
so it lives in the `gpu` extra). On the CPU default `PerceptualFallback` has the same structure
(VGG16 `features` layer layout, five taps, unit normalisation, per-tap linear heads). Its backbone
is NOT ImageNet-pretrained unless a local safetensors file with torchvision VGG16 `features.*`
weights (and optionally LPIPS `lin*` heads) is given; random frozen conv features still give a
useful multi-scale structure loss, but numbers are not comparable with published LPIPS. The
backend name says which one ran (`lpips:vgg` or `fallback:lpips-structure-...`).
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from pathlib import Path

import torch
from torch import nn

log = logging.getLogger(__name__)

# VGG16 `features` layout: ints are conv widths, "M" max-pools. Taps after relu1_2 .. relu5_3,
# the same layers LPIPS uses (torchvision indices 3, 8, 15, 22, 29).
VGG16_LAYOUT: tuple[int | str, ...] = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)
VGG16_TAPS = (3, 8, 15, 22, 29)


class PerceptualFallback(nn.Module):
    """LPIPS-structured distance with a frozen VGG16-layout backbone (random or locally loaded)."""

    def __init__(self, width_scale: float = 1.0, seed: int = 0, backbone_path: str | None = None) -> None:
        super().__init__()
        self.width_scale = width_scale
        layers: list[nn.Module] = []
        widths: list[int] = []
        c_in = 3
        for item in VGG16_LAYOUT:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                c = max(4, int(round(int(item) * width_scale)))
                layers += [nn.Conv2d(c_in, c, 3, padding=1), nn.ReLU(inplace=False)]
                c_in = c
        self.features = nn.Sequential(*layers)
        for idx in VGG16_TAPS:
            widths.append(self.features[idx - 1].out_channels)
        self.tap_channels = widths
        # LPIPS heads: 1x1 conv, no bias, non-negative. Fixed to the channel mean (the "baseline"
        # LPIPS variant) unless learned heads are loaded.
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in widths)
        for lin, c in zip(self.lins, widths):
            nn.init.constant_(lin.weight, 1.0 / c)
        # LPIPS input scaling layer constants.
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1))
        self.backbone_source = "random-init"
        if backbone_path:
            self.load_backbone(backbone_path)
        else:
            gen = torch.Generator().manual_seed(seed)
            for m in self.features:
                if isinstance(m, nn.Conv2d):
                    # He init so random features keep their scale through 13 layers.
                    fan_in = m.in_channels * 9
                    m.weight.data = torch.randn(m.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5
                    m.bias.data.zero_()
        self.requires_grad_(False)
        self.eval()

    @property
    def name(self) -> str:
        return f"fallback:lpips-structure-vgg16x{self.width_scale:g}({self.backbone_source})"

    def load_backbone(self, path: str) -> None:
        from safetensors.torch import load_file

        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"perceptual backbone file {p} does not exist")
        if self.width_scale != 1.0:
            raise ValueError("a pretrained VGG16 backbone needs perceptual width_scale 1.0")
        state = load_file(str(p))
        feats = {k[len("features.") :]: v for k, v in state.items() if k.startswith("features.")}
        missing = self.features.load_state_dict(feats, strict=True)
        del missing
        # LPIPS head weights are named lin{k}.model.1.weight in the lpips package.
        for k, lin in enumerate(self.lins):
            key = f"lin{k}.model.1.weight"
            if key in state:
                lin.weight.data.copy_(state[key].abs())
        digest = hashlib.sha256(p.read_bytes()).hexdigest()[:12]
        self.backbone_source = f"local:{digest}"

    def train(self, mode: bool = True) -> "PerceptualFallback":
        return super().train(False)  # frozen: always eval

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """x, y: (N, 3, H, W) in [-1, 1] -> distance (N,)."""
        h = torch.cat([x, y], dim=0)
        h = (h - self.shift) / self.scale
        total = x.new_zeros(x.shape[0])
        tap = 0
        for i, layer in enumerate(self.features):
            h = layer(h)
            if i + 1 in VGG16_TAPS:
                fx, fy = h.chunk(2, dim=0)
                fx = fx / (fx.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)  # unit-normalise channels
                fy = fy / (fy.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
                total = total + self.lins[tap]((fx - fy).pow(2)).mean(dim=(1, 2, 3))
                tap += 1
                if tap == len(VGG16_TAPS):
                    break
        return total


class LpipsPackage(nn.Module):
    """The real LPIPS from the `lpips` package (VGG backbone, learned heads)."""

    def __init__(self) -> None:
        super().__init__()
        import lpips  # noqa: PLC0415 - optional dependency (gpu extra)

        self.net = lpips.LPIPS(net="vgg", verbose=False)
        self.net.requires_grad_(False)
        self.net.eval()
        self.name = "lpips:vgg"

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(x, y).flatten()


def build_perceptual(
    backend: str = "auto", width_scale: float = 1.0, seed: int = 0, backbone_path: str | None = None
) -> nn.Module:
    """backend: 'auto' (lpips if importable, else fallback), 'lpips' (required) or 'fallback'."""
    if backend not in {"auto", "lpips", "fallback"}:
        raise ValueError(f"unknown perceptual backend {backend!r}; use auto, lpips or fallback")
    if backend in {"auto", "lpips"} and not backbone_path:
        try:
            return LpipsPackage()
        except Exception as exc:  # torchvision missing, weights not downloadable, ...
            if backend == "lpips":
                raise RuntimeError(f"perceptual backend 'lpips' requested but unavailable: {exc}") from exc
            reason = f"{type(exc).__name__}: {exc}"
    else:
        reason = "fallback requested" if backend == "fallback" else "local backbone file given"
    net = PerceptualFallback(width_scale=width_scale, seed=seed, backbone_path=backbone_path)
    if net.backbone_source == "random-init":
        msg = (
            f"perceptual loss uses {net.name}: the LPIPS-structured fallback with a backbone that is NOT "
            f"ImageNet-pretrained ({reason}); values are not comparable with published LPIPS. "
            "Set encoding.perceptual_backbone_path to a local VGG16 safetensors file for a pretrained backbone."
        )
        warnings.warn(msg, stacklevel=2)
        log.warning(msg)
    return net


def perceptual_name(net: nn.Module) -> str:
    return str(getattr(net, "name", type(net).__name__))


def frames_of(x: torch.Tensor) -> torch.Tensor:
    """(B, C, T, H, W) -> (B*T, C, H, W)."""
    b, c, t, h, w = x.shape
    return x.transpose(1, 2).reshape(b * t, c, h, w)


def sample_frames(x: torch.Tensor, y: torch.Tensor, k: int, generator: torch.Generator | None = None):
    """Pick the same k frames (always including frame 0) of each clip of x and y for perceptual loss."""
    t = x.shape[2]
    if k <= 0 or k >= t:
        return frames_of(x), frames_of(y)
    rest = torch.randperm(t - 1, generator=generator)[: k - 1] + 1
    idx = torch.cat([torch.zeros(1, dtype=torch.long), rest.sort().values])
    return frames_of(x[:, :, idx]), frames_of(y[:, :, idx])
