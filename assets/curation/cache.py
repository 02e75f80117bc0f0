"""Per-video analysis as bytes (npz, no pickle) and its cache in the store, keyed by content hash.

The key is the video's sha256 plus the settings fingerprint, so re-materialising `shots` only
decodes videos it has not analysed with these settings. The store is content-addressed, so the key
-> path index is a ref (`refs/curation/analysis/<key>.json`), the store's one mutable kind.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np

from assets.curation.analysis import ANALYSIS_VERSION, SegmentStats, VideoAnalysis

_SCALAR_FIELDS = (
    "start", "end", "shot_index", "n", "cut_n", "sharp_sum", "lapvar_sum", "luma_sum", "flow_n", "mag_n",
    "flow_mag_sum", "diff_sum", "jitter_n", "jitter_sum", "thumb_stride",
)  # fmt: skip


def analysis_to_bytes(a: VideoAnalysis) -> bytes:
    head = {
        "version": ANALYSIS_VERSION,
        "n_frames": a.n_frames,
        "fps": a.fps,
        "width": a.width,
        "height": a.height,
        "analysis_w": a.analysis_w,
        "analysis_h": a.analysis_h,
        "cuts": a.cuts,
        "cut_kinds": a.cut_kinds,
        "segments": [{k: getattr(s, k) for k in _SCALAR_FIELDS} | {"thumb_frames": [t[0] for t in s.thumbs]} for s in a.segments],
    }
    arrays: dict[str, np.ndarray] = {"head": np.frombuffer(json.dumps(head, sort_keys=True).encode(), np.uint8)}
    for i, s in enumerate(a.segments):
        arrays[f"s{i}_edge"] = s.edge_count
        arrays[f"s{i}_cells"] = np.stack([s.cell_crisp, s.cell_edge, s.cell_peak, s.cell_change, s.cut_crisp, s.cut_edge])  # (6, G, G)
        t = s.thumbs
        arrays[f"s{i}_thumbs"] = np.stack([x[1] for x in t]) if t else np.zeros((0, 1, 1, 3), np.uint8)
    return _deterministic_npz(arrays)


def _deterministic_npz(arrays: dict[str, np.ndarray]) -> bytes:
    """np.savez_compressed stamps the wall clock into the zip; fixed timestamps keep bytes stable."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            one = io.BytesIO()
            np.save(one, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, one.getvalue())
    return buf.getvalue()


def analysis_from_bytes(data: bytes) -> VideoAnalysis:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        head = json.loads(bytes(z["head"]).decode())
        if head.get("version") != ANALYSIS_VERSION:
            raise ValueError(f"analysis version {head.get('version')} != {ANALYSIS_VERSION}")
        segs = []
        for i, meta in enumerate(head["segments"]):
            edge = z[f"s{i}_edge"]
            seg = SegmentStats(
                start=meta["start"], shot_index=meta["shot_index"], h=edge.shape[0], w=edge.shape[1],
                edge_count=edge,
            )  # fmt: skip
            cells = z[f"s{i}_cells"]  # (6, G, G)
            seg.grid = int(cells.shape[1])
            seg.cell_crisp, seg.cell_edge, seg.cell_peak, seg.cell_change, seg.cut_crisp, seg.cut_edge = (c.copy() for c in cells)
            for k in _SCALAR_FIELDS:
                setattr(seg, k, meta[k])
            thumbs = z[f"s{i}_thumbs"]
            seg.thumbs = [(f, thumbs[j]) for j, f in enumerate(meta["thumb_frames"])]
            segs.append(seg)
    return VideoAnalysis(
        n_frames=head["n_frames"], fps=head["fps"], width=head["width"], height=head["height"],
        analysis_w=head["analysis_w"], analysis_h=head["analysis_h"], cuts=head["cuts"],
        cut_kinds=head["cut_kinds"], segments=segs,
    )  # fmt: skip


def cache_key(video_sha256: str, fingerprint: str) -> str:
    return f"{ANALYSIS_VERSION}-{video_sha256[:32]}-{fingerprint}"
