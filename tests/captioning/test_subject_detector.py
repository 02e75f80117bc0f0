"""The supervised subject detector (models.perception): ground-truth tracks from the renderer, training,
decoding, and the per-shot evidence vector."""

import numpy as np
import torch

from assets.sourcing.world import vocabulary as V
from assets.sourcing.world.plan import make_shot
from assets.sourcing.world.render import render_shot
from models.perception.detector import detector_maps, peaks, train_detector
from models.perception.targets import subject_classes, subject_tracks
from models.perception.tracks import feature_size, shot_features


def test_tracks_sit_on_the_subjects_under_camera_moves():
    for camera, motion, count in [("pan_right", "left", 2), ("zoom_in", "grow", 3), ("tilt_up", "bounce", 1)]:
        shot = make_shot(subject="square", colour="red", motion=motion, count=count, camera=camera, scene="sky",
                         n_frames=12, seed=5, noise_sigma=0)
        video = render_shot(shot, 48, 48, 8)
        tracks = subject_tracks(shot, 48, 48, 8)
        assert tracks.shape == (12, count, 3)
        for t in (0, 6, 11):
            for x, y, _ in tracks[t]:
                assert video[t, int(round(y)), int(round(x))].tolist() == [220, 40, 40]  # the subject's fill
    assert subject_classes(shot).tolist() == [[V.keys("subject").index("square"), V.keys("colour").index("red"),
                                               V.keys("motion").index("bounce")]]



def test_tracks_follow_near_duplicate_copies():
    """Crop and lower-resolution copies are rendered at the frame size, then cropped or resampled."""
    from dataclasses import replace

    base = make_shot(subject="square", colour="red", motion="right", camera="static", scene="sky", n_frames=6,
                     seed=4, noise_sigma=0)
    for copy in (replace(base, crop=0.8), replace(base, resample=0.5)):
        video = render_shot(copy, 64, 64, 8)
        for x, y, _ in subject_tracks(copy, 64, 64, 8)[3]:
            r, g, b = video[3, int(round(y)), int(round(x))].tolist()
            assert r > 180 and g < 90 and b < 90, (copy.crop, copy.resample, (r, g, b))


def _shots(n, seed):
    rng = np.random.default_rng(seed)
    frames, tracks, classes = [], [], []
    for i in range(n):
        shot = make_shot(subject=str(rng.choice(V.keys("subject"))), colour=str(rng.choice(V.keys("colour"))),
                         motion="still", count=int(rng.integers(1, 4)), camera="static", scene="sky", n_frames=2,
                         seed=seed * 1000 + i, noise_sigma=1.0)
        frames.append(render_shot(shot, 32, 32, 8)[0])
        tracks.append(subject_tracks(shot, 32, 32, 8)[0])
        classes.append(subject_classes(shot))
    return np.stack(frames), tracks, classes


def test_detector_learns_to_count_subjects():
    torch.set_num_threads(1)
    frames, tracks, classes = _shots(160, 1)
    det = train_detector(frames, tracks, classes, epochs=12, batch_size=16, seed=0)
    test, t_tracks, _ = _shots(24, 2)
    maps = detector_maps(det, torch.from_numpy(test).permute(0, 3, 1, 2).float() / 255)
    found = peaks(maps, 0.3)
    hits = np.mean([len(p) == len(t) for p, t in zip(found, t_tracks)])
    assert hits >= 0.6  # chance over 1-3 subjects is 1/3; an untrained heatmap finds nothing
    # peaks land near a true subject centre
    near = [min(np.hypot(*(t[:, :2] - p[:2]).T)) < 4 for ps, t in zip(found, t_tracks) for p in ps]
    assert np.mean(near) > 0.8


def test_shot_features_shape_and_determinism():
    shot = make_shot(subject="fish", colour="blue", motion="right", camera="pan_left", n_frames=12, seed=3)
    video = render_shot(shot, 32, 32, 8)[::2]  # K = 6
    tr = subject_tracks(shot, 32, 32, 8)[::2]
    dets = [np.concatenate([t[:, :2], np.ones((len(t), 1)), t[:, 2:3], np.full((len(t), 15), 0.1)], 1) for t in tr]
    f1, f2 = shot_features(video, dets), shot_features(video, dets)
    assert f1.shape == (feature_size(6),) and np.array_equal(f1, f2)
    assert f1[1] == 1.0  # every frame has exactly one subject
    # the fish moves right relative to the scene while the camera pans left: positive relative dx
    pairs = f1[8 + 8 + 7: 8 + 8 + 7 + 30].reshape(5, 6)
    assert pairs[:, 0].sum() > 0
