"""The dense caption schema: rendering in both languages and the exact inverse."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assets.captioning.schema import (
    CaptionParseError,
    DenseCaption,
    ShotCaption,
    SubjectCaption,
    parse_caption,
    render_caption,
    render_shots,
)
from assets.sourcing.world import vocabulary as V

LANGS = ("en", "zh")


def _roundtrip(c: DenseCaption) -> None:
    for lang in LANGS:
        assert parse_caption(render_caption(c, lang, "long"), lang) == c
        assert parse_caption(render_caption(c, lang, "short"), lang) == c.short_view()


def test_every_subject_colour_count_motion_roundtrips() -> None:
    # exhaustive over the appearance x motion product; the shot-level attributes rotate through
    # their whole vocabularies (None included) so every value of every attribute is rendered too
    cams = [None, *V.keys("camera")]
    scenes = [None, *V.keys("scene")]
    styles = [None, *V.keys("style")]
    for i, (subj, col, n, mot) in enumerate(
        itertools.product(V.keys("subject"), V.keys("colour"), V.keys("count"), V.keys("motion"))
    ):
        shot = ShotCaption((SubjectCaption(subj, col, int(n), mot),), scene=scenes[i % len(scenes)],
                           style=styles[(i // 3) % len(styles)], camera=cams[(i // 7) % len(cams)])
        _roundtrip(DenseCaption((shot,)))


def test_every_shot_level_combination_roundtrips() -> None:
    subject = SubjectCaption("bird", "orange", 2, "rotate")
    for cam, scene, style in itertools.product(
        [None, *V.keys("camera")], [None, *V.keys("scene")], [None, *V.keys("style")]
    ):
        _roundtrip(DenseCaption((ShotCaption((subject,), scene=scene, style=style, camera=cam),)))


subjects = st.builds(
    SubjectCaption,
    st.sampled_from(V.keys("subject")),
    st.sampled_from(V.keys("colour")),
    st.sampled_from([1, 2, 3]),
    st.sampled_from(V.keys("motion")),
)


def _shot(first: bool):
    return st.builds(
        ShotCaption,
        st.lists(subjects, min_size=1, max_size=4).map(tuple),
        scene=st.sampled_from([None, *V.keys("scene")]),
        style=st.sampled_from([None, *V.keys("style")]),
        camera=st.sampled_from([None, *V.keys("camera")]),
        transition=st.just(None) if first else st.sampled_from([None, *V.keys("transition")]),
    )


@settings(max_examples=300, deadline=None, derandomize=True)
@given(_shot(True), st.lists(_shot(False), max_size=3))
def test_multi_shot_captions_roundtrip(first, rest) -> None:
    _roundtrip(DenseCaption((first, *rest)))


def test_multi_shot_uses_explicit_markers_and_per_shot_texts() -> None:
    c = DenseCaption.from_attributes([
        dict(subjects=[("circle", "red", "left")], camera="static", scene="sky", style="natural"),
        dict(subjects=[("fish", "blue", "right")], count=2, camera="zoom_in", scene="ocean", style="ink",
             transition="cut"),
    ])
    text = render_caption(c, "en", "long")
    assert text.startswith("[SHOT 1] A red circle against a sky gradient.")
    assert "[CUT] [SHOT 2] Two blue fish against an ocean with waves." in text
    assert "The scene changes to an ocean with waves." in text  # dynamic: scene change
    zh = render_caption(c, "zh", "long")
    assert "背景是渐变天空" in zh and "[CUT] [SHOT 2]" in zh and "两个蓝色的鱼向右移动" in zh
    assert len(render_shots(c, "zh", "short")) == 2
    short = render_caption(c, "en", "short")
    assert "sky" not in short and "moves to the left" in short  # motion only


def test_short_form_drops_static_features() -> None:
    c = DenseCaption.from_attributes([dict(subjects=[("star", "yellow", "grow")], camera="tilt_up",
                                           scene="desert", style="retro")])
    for lang in LANGS:
        short = render_caption(c, lang, "short")
        assert V.term("scene", "desert").__getattribute__(lang) not in short
        assert V.term("style", "retro").__getattribute__(lang) not in short
        assert V.term("motion", "grow").__getattribute__(lang) in short


@pytest.mark.parametrize("text,lang", [
    ("", "en"),
    ("A red circle against the moon.", "en"),
    ("A red circle. The blue square moves to the left.", "en"),  # motion names another subject
    ("[SHOT 2] A red circle.", "en"),
    ("[SHOT 1] A red circle. [SHOT 2] A blue square.", "en"),  # missing [CUT]
    ("画面中有一个粉色的圆形。", "zh"),
])
def test_bad_text_is_rejected(text: str, lang: str) -> None:
    with pytest.raises(CaptionParseError):
        parse_caption(text, lang)


def test_unknown_keys_are_rejected() -> None:
    with pytest.raises(ValueError):
        ShotCaption.from_attributes([("dragon", "red", "left")])
    with pytest.raises(ValueError):
        DenseCaption.from_attributes([dict(subjects=[("circle", "red", "left")], transition="cut")])


def test_dict_roundtrip() -> None:
    c = DenseCaption.from_attributes([dict(subjects=[("ring", "white", "shrink", 3)], camera="shake")])
    assert DenseCaption.from_dict(c.to_dict()) == c
