"""Ground-truth captions of curated clips, from the synthetic world's per-shot attribute table.

A curated clip knows its source (`source_relpath`, whose stem is the world's `video_id`) and its
frame range in the source (`start_frame`, `end_frame`); the world knows every shot's frame span and
attributes. A clip's ground-truth caption is the world's shots that cover it, in order; each shot the
curation detected in the clip is labelled with the world shot it overlaps most.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from assets.captioning.schema import DenseCaption, ShotCaption, SubjectCaption

# a world shot counts as part of a clip if it covers at least this share of its own frames inside
# the clip, or this share of the clip (dissolve overlaps and trimmed edges are not shots of their own)
MIN_SHOT_SHARE = 0.25


@dataclass(frozen=True)
class GroundTruthShot:
    video_id: str
    shot_index: int
    start_frame: int  # [start, end) in the source video
    end_frame: int
    caption: ShotCaption  # transition = how this shot is entered in the source (None for the first)


def group_subjects(instances: Iterable[Sequence[str]]) -> tuple[SubjectCaption, ...]:
    """World subject instances [(subject, colour, motion), ...] -> captions with counts.

    Identical instances ("three red stars") collapse into one SubjectCaption with a count, in order of
    first appearance, which is how a person describes them.
    """
    order: list[tuple[str, str, str]] = []
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    for inst in instances:
        key = (str(inst[0]), str(inst[1]), str(inst[2]))
        if key not in counts:
            order.append(key)
        counts[key] += 1
    return tuple(SubjectCaption(s, c, min(counts[(s, c, m)], 3), m) for s, c, m in order)


def shot_caption_from_spec(shot: Any, transition: str | None) -> ShotCaption:
    """A `ShotSpec` of the world plan -> its ground-truth ShotCaption."""
    subs = group_subjects((s.subject, s.colour, s.motion) for s in shot.subjects)
    return ShotCaption(subs, scene=shot.scene, style=shot.style, camera=shot.camera, transition=transition)


def gt_shots_from_plan(videos: Sequence[Any]) -> list[GroundTruthShot]:
    """Ground truth straight from `plan_world(...)` (the same facts the world's parquet holds)."""
    out = []
    for v in videos:
        for k, (shot, (a, b)) in enumerate(zip(v.shots, v.shot_spans(), strict=True)):
            trans = v.transitions[k - 1].kind if k > 0 else None
            out.append(GroundTruthShot(v.video_id, k, a, b, shot_caption_from_spec(shot, trans)))
    return out


def _subjects_of_row(row: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    subs = row.get("subjects")
    if isinstance(subs, str):
        subs = json.loads(subs)
    if subs is not None:
        out = []
        for s in subs:
            if isinstance(s, Mapping):
                out.append((s["subject"], s["colour"], s["motion"]))
            else:
                out.append((s[0], s[1], s[2]))
        return out
    # parallel list columns: subject_keys / colours / motions (or singular names)
    names = [("subject", "subjects_subject", "subject_keys"), ("colour", "colours"), ("motion", "motions")]
    cols = []
    for options in names:
        for n in options:
            if n in row and row[n] is not None:
                v = row[n]
                cols.append(list(v) if isinstance(v, (list, tuple)) or hasattr(v, "tolist") else [v])
                break
        else:
            raise KeyError(f"ground-truth row has no subjects column; columns: {sorted(row)}")
    return list(zip(*cols, strict=True))


def gt_shots_from_rows(rows: Iterable[Mapping[str, Any]]) -> list[GroundTruthShot]:
    """Rows of the world's `ground_truth_shots.parquet` -> GroundTruthShot.

    Expected columns: video_id, shot_index, start_frame, end_frame, subjects (list of
    {subject, colour, motion}, or JSON of it, or parallel list columns), camera, scene, style and the
    incoming transition (`transition_in` or `transition`; empty/None/"none" for the first shot).
    """
    out = []
    for row in rows:
        k = int(row["shot_index"])
        trans = row.get("transition_in", row.get("transition"))
        if k == 0 or trans in (None, "", "none"):
            trans = None
        caption = ShotCaption(group_subjects(_subjects_of_row(row)), scene=row.get("scene"),
                              style=row.get("style"), camera=row.get("camera"), transition=trans)
        out.append(GroundTruthShot(str(row["video_id"]), k, int(row["start_frame"]), int(row["end_frame"]), caption))
    return out


def shot_ranges(n_frames: int, boundaries: Sequence[int] | None) -> list[tuple[int, int]]:
    """Clip-local [start, end) of each detected shot from the clip's shot boundaries.

    `boundaries` are the frames where a new shot starts; 0 and n_frames may or may not be included.
    """
    cuts = sorted({int(b) for b in (boundaries if boundaries is not None else []) if 0 < int(b) < n_frames})
    edges = [0, *cuts, n_frames]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def video_id_of(source_relpath: str) -> str:
    return PurePosixPath(source_relpath).stem


def _overlap(a0: int, a1: int, b0: int, b1: int) -> int:
    return max(0, min(a1, b1) - max(a0, b0))


@dataclass(frozen=True)
class ClipTruth:
    caption: DenseCaption  # the world shots covering the clip, in order (first shot: no transition)
    shot_labels: tuple[ShotCaption, ...]  # one per detected shot: the world shot it overlaps most
    n_shots: int  # true number of shots in the clip


def clip_truth(clip: Mapping[str, Any], gt_by_video: Mapping[str, list[GroundTruthShot]]) -> ClipTruth | None:
    """Ground truth of one curated clip, or None if its source is not in the world."""
    shots = gt_by_video.get(video_id_of(str(clip["source_relpath"])))
    if not shots:
        return None
    start, end = int(clip["start_frame"]), int(clip["end_frame"])
    length = max(end - start, 1)
    covering = [
        g for g in shots
        if (ov := _overlap(start, end, g.start_frame, g.end_frame)) > 0
        and (ov >= MIN_SHOT_SHARE * (g.end_frame - g.start_frame) or ov >= MIN_SHOT_SHARE * length)
    ]
    if not covering:
        return None
    covering.sort(key=lambda g: g.start_frame)
    from dataclasses import replace

    dense = DenseCaption(tuple(
        replace(g.caption, transition=None) if i == 0 else g.caption for i, g in enumerate(covering)
    ))
    labels = []
    n = int(clip.get("n_frames") or length)
    for a, b in shot_ranges(n, clip.get("shot_boundaries")):
        best = max(shots, key=lambda g: (_overlap(start + a, start + b, g.start_frame, g.end_frame), -g.shot_index))
        labels.append(replace(best.caption, transition=None))
    return ClipTruth(dense, tuple(labels), len(covering))
