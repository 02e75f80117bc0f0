"""Distribution rebalancing (report 3.1): attribute frequencies -> sampling weights + acquisition targets.

For each dimension (subject category, scene, dominant action, style, camera, clip duration,
resolution, motion strength) a clip falls into one category. A clip's weight is the product over
dimensions of (share of its category / uniform share) ** -power: head categories are downsampled,
tail categories upsampled. Weights are normalised to mean 1 and clipped to [floor, cap] (so no clip
dominates an epoch), then renormalised. Categories whose share is below `acquisition_share` x the
uniform share, including vocabulary categories with no clip at all, become acquisition targets: the
number of clips to collect to reach the uniform share.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from assets.sourcing.world import vocabulary as V

VOCAB_DIMENSIONS = {"subject", "scene", "motion", "style", "camera", "colour"}
DURATION_BINS = (0.0, 2.0, 4.0, 8.0, math.inf)  # seconds
RESOLUTION_BINS = (0, 160, 360, 720, 10**9)  # short side in pixels


def _bin_label(value: float, edges: Sequence[float], unit: str) -> str:
    for a, b in zip(edges[:-1], edges[1:]):
        if a <= value < b:
            return f"{a:g}-{b:g}{unit}" if math.isfinite(b) and b < 10**8 else f">={a:g}{unit}"
    return f"<{edges[0]:g}{unit}"


def _bins(edges: Sequence[float], unit: str) -> list[str]:
    return [_bin_label((a + min(b, a + 1)) / 2 if math.isfinite(b) else a + 1, edges, unit)
            for a, b in zip(edges[:-1], edges[1:])]


def categorize(df: pd.DataFrame, dimensions: Sequence[str]) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """One category column per dimension, and each dimension's full category list."""
    cats: dict[str, list[str]] = {}
    out = pd.DataFrame(index=df.index)
    for d in dimensions:
        if d in VOCAB_DIMENSIONS:
            out[d] = df[d].astype(str)
            cats[d] = V.keys(d)
        elif d == "duration":
            out[d] = [_bin_label(float(x), DURATION_BINS, "s") for x in df["duration_s"]]
            cats[d] = _bins(DURATION_BINS, "s")
        elif d == "resolution":
            short = np.minimum(df["width"].to_numpy(), df["height"].to_numpy())
            out[d] = [_bin_label(float(x), RESOLUTION_BINS, "px") for x in short]
            cats[d] = _bins(RESOLUTION_BINS, "px")
        elif d == "motion_score":
            # terciles of the curated set: "low / mid / high" motion characteristics
            x = df["motion_score"].to_numpy(dtype=float)
            q = np.quantile(x, [1 / 3, 2 / 3]) if len(x) else np.array([0.0, 0.0])
            out[d] = np.where(x < q[0], "low", np.where(x < q[1], "mid", "high"))
            cats[d] = ["low", "mid", "high"]
        elif d == "n_shots":
            out[d] = ["multi" if int(n) > 1 else "single" for n in df["n_shots"]]
            cats[d] = ["single", "multi"]
        elif d == "aspect":
            r = df["width"].to_numpy() / np.maximum(df["height"].to_numpy(), 1)
            out[d] = np.where(r > 1.1, "landscape", np.where(r < 0.9, "portrait", "square"))
            cats[d] = ["landscape", "square", "portrait"]
        else:
            raise ValueError(f"unknown rebalance dimension {d!r}")
    return out, cats


def entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    p = p / p.sum()
    return float(-(p * np.log(p)).sum())


@dataclass
class Rebalanced:
    weights: np.ndarray  # (N,) mean 1, within [floor, cap]
    distributions: pd.DataFrame  # dimension, category, count, share_before, share_after
    targets: pd.DataFrame  # acquisition targets
    entropy_before: dict[str, float]
    entropy_after: dict[str, float]

    @property
    def entropy_gain(self) -> float:
        """Mean over dimensions of the entropy gained (nats) by sampling with the weights."""
        dims = list(self.entropy_before)
        return float(np.mean([self.entropy_after[d] - self.entropy_before[d] for d in dims])) if dims else 0.0


def rebalance(df: pd.DataFrame, dimensions: Sequence[str], power: float, cap: float, floor: float,
              acquisition_share: float) -> Rebalanced:
    n = len(df)
    if n == 0:
        raise ValueError("nothing to rebalance: the captioned clip table is empty")
    cat, allcats = categorize(df, dimensions)
    log_w = np.zeros(n)
    for d in dimensions:
        share = cat[d].map(cat[d].value_counts(normalize=True)).to_numpy(dtype=float)
        present = cat[d].nunique()
        # relative to the uniform share over the categories present (absent ones cannot be sampled)
        log_w += -power * np.log(share * present)
    w = np.exp(log_w - log_w.max())
    w = w / w.mean()
    for _ in range(20):  # clip and renormalise until the bounds hold at mean 1
        w = np.clip(w, floor, cap)
        w = w / w.mean()
        if w.max() <= cap + 1e-9 and w.min() >= floor - 1e-9:
            break
    w = np.clip(w, floor, cap)

    rows, targets, h0, h1 = [], [], {}, {}
    for d in dimensions:
        counts = cat[d].value_counts()
        weighted = pd.Series(w, index=cat.index).groupby(cat[d]).sum()
        before = np.array([counts.get(c, 0) for c in allcats[d]], dtype=float)
        after = np.array([weighted.get(c, 0.0) for c in allcats[d]], dtype=float)
        h0[d], h1[d] = entropy(before), entropy(after)
        uniform = 1.0 / len(allcats[d])
        for c, b, a in zip(allcats[d], before, after):
            rows.append({"dimension": d, "category": c, "count": int(b), "share_before": b / n,
                         "share_after": a / after.sum()})
            if b / n < acquisition_share * uniform:
                targets.append({"dimension": d, "category": c, "count": int(b), "share": b / n,
                                "target_share": uniform, "clips_needed": int(math.ceil(uniform * n - b))})
    tcols = ["dimension", "category", "count", "share", "target_share", "clips_needed"]
    targets_df = pd.DataFrame(targets, columns=tcols).sort_values(["clips_needed", "dimension", "category"],
                                                                  ascending=[False, True, True], ignore_index=True)
    return Rebalanced(w, pd.DataFrame(rows), targets_df, h0, h1)


def plot_distributions(result: Rebalanced) -> bytes:
    """Before/after category shares per dimension as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dims = list(result.entropy_before)
    cols = min(4, len(dims))
    rows = math.ceil(len(dims) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
    for ax, d in zip(axes.flat, dims):
        part = result.distributions[result.distributions.dimension == d]
        x = np.arange(len(part))
        ax.bar(x - 0.2, part.share_before, 0.4, label="before")
        ax.bar(x + 0.2, part.share_after, 0.4, label="after (weighted)")
        ax.set_xticks(x, part.category, rotation=60, fontsize=7)
        ax.set_title(f"{d}: H {result.entropy_before[d]:.2f} -> {result.entropy_after[d]:.2f}", fontsize=9)
    for ax in list(axes.flat)[len(dims):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()
