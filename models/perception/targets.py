"""Ground truth for the subject detector: where each subject of a rendered world shot is, per frame.

The world renderer knows every subject's world trajectory and the camera's path; the screen position
is screen = (world - camera_centre) * zoom + frame_centre and the screen radius is radius * zoom
(assets/sourcing/world/render.py). `subject_tracks` rebuilds the renderer's state for a shot (same
seeded layout, so the same positions the frames show) and returns them. Near-duplicate variants
are rendered at the frame size like their originals (a centre crop is mapped back to the output frame; a
pass through a lower resolution moves nothing); the "jitter" defect's per-frame
shift is not (training shots for the detector are rendered without it).
"""

from __future__ import annotations

import numpy as np

from assets.sourcing.world import vocabulary as V
from assets.sourcing.world.plan import ShotSpec


def subject_tracks(shot: ShotSpec, height: int, width: int, fps: int) -> np.ndarray:
    """(T, K, 3) float32: x, y (pixels of the height x width output frame) and radius of every subject
    (K = shot.count, in the shot's subject order: index 0 is the first-named, primary subject)."""
    from assets.sourcing.world.render import _ShotRenderer  # the renderer's own state

    r = _ShotRenderer(shot, height, width, fps)  # copies are rendered at the frame size, as in `iter_shot`
    out = np.zeros((shot.n_frames, shot.count, 3), dtype=np.float32)
    half = np.array([width / 2, height / 2])
    for k, (_, world, radius, _, _) in enumerate(r.subjects):
        xy = (world - r.centre) * r.zoom[:, None] + half  # (T, 2) in frame pixels
        rad = radius * r.zoom  # (T,)
        if r.frozen:  # a static shot shows its middle frame throughout
            xy, rad = np.repeat(xy[len(xy) // 2][None], len(xy), 0), np.full(len(rad), rad[len(rad) // 2])
        s = 1.0
        if shot.crop < 1.0:  # centre crop, rescaled back to the frame (same rounding as `iter_shot`)
            ch, cw = int(round(height * shot.crop)), int(round(width * shot.crop))
            xy = (xy - np.array([(width - cw) // 2, (height - ch) // 2])) * np.array([width / cw, height / ch])
            s = float(np.sqrt(width / cw * height / ch))
        out[:, k, 0], out[:, k, 1] = xy[:, 0], xy[:, 1]
        out[:, k, 2] = rad * s
    return out


def subject_classes(shot: ShotSpec) -> np.ndarray:
    """(K, 3) int64: shape, colour and motion class index of every subject (vocabulary order)."""
    return np.array([[V.keys("subject").index(s.subject), V.keys("colour").index(s.colour),
                      V.keys("motion").index(s.motion)] for s in shot.subjects], dtype=np.int64)
