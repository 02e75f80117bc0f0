"""Ground truth for the subject detector: where each subject of a rendered world shot is, per frame.

The world renderer knows every subject's world trajectory and the camera's path; the screen position
is screen = (world - camera_centre) * zoom + frame_centre and the screen radius is radius * zoom
(assets/sourcing/world/render.py). `subject_tracks` rebuilds the renderer's state for a shot (same
seeded layout, so the same positions the frames show) and returns them. Near-duplicate variants
(centre crop, lower-resolution render) are mapped to the output frame; the "jitter" defect's per-frame
shift is not (training shots for the detector are rendered without it).
"""

from __future__ import annotations

import numpy as np

from assets.sourcing.world import vocabulary as V
from assets.sourcing.world.plan import ShotSpec


def subject_tracks(shot: ShotSpec, height: int, width: int, fps: int) -> np.ndarray:
    """(T, K, 3) float32: x, y (pixels of the height x width output frame) and radius of every subject
    (K = shot.count, in the shot's subject order: index 0 is the first-named, primary subject)."""
    from assets.sourcing.world.render import _ShotRenderer, _variant_size  # the renderer's own state

    ih, iw = _variant_size(shot, height, width)
    r = _ShotRenderer(shot, ih, iw, fps)
    out = np.zeros((shot.n_frames, shot.count, 3), dtype=np.float32)
    half = np.array([iw / 2, ih / 2])
    for k, (_, world, radius, _, _) in enumerate(r.subjects):
        xy = (world - r.centre) * r.zoom[:, None] + half  # (T, 2) on the internal canvas
        rad = radius * r.zoom  # (T,)
        if r.frozen:  # a static shot shows its middle frame throughout
            xy, rad = np.repeat(xy[len(xy) // 2][None], len(xy), 0), np.full(len(rad), rad[len(rad) // 2])
        sx, sy = 1.0, 1.0
        if shot.crop < 1.0:  # centre crop, rescaled back to the frame
            ch, cw = int(round(ih * shot.crop)), int(round(iw * shot.crop))
            xy = xy - np.array([(iw - cw) // 2, (ih - ch) // 2])
            sx, sy = width / cw, height / ch
        else:
            sx, sy = width / iw, height / ih
        out[:, k, 0], out[:, k, 1] = xy[:, 0] * sx, xy[:, 1] * sy
        out[:, k, 2] = rad * np.sqrt(sx * sy)
    return out


def subject_classes(shot: ShotSpec) -> np.ndarray:
    """(K, 3) int64: shape, colour and motion class index of every subject (vocabulary order)."""
    return np.array([[V.keys("subject").index(s.subject), V.keys("colour").index(s.colour),
                      V.keys("motion").index(s.motion)] for s in shot.subjects], dtype=np.int64)
