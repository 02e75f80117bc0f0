"""The multi-shot prompt parser on the practitioner's notes' and the report's example prompts."""

from __future__ import annotations

import pytest

from assets.prompting.multishot import MultiShotPromptError, approx_token_count, parse_multishot

# seeds/000 (practitioner's notes): the same four shots in every syntax they tried.
SHOTS_EN = [
    "Crowd’s-eye view as the arena lights converge on the ring.",
    "Slow-motion of the boxer throwing punches.",
    "Ultra close-up of the opponent’s reaction.",
    "Cut to the referee blowing the whistle—contrast between motion and stillness.",
]
NOTES_FORMS = {
    "shot_colon": "\n".join(f"Shot {i + 1}: {s}" for i, s in enumerate(SHOTS_EN)),
    "shot_and_cut_tags": " ".join(f"<SHOT> {s} <CUT>" for s in SHOTS_EN),
    "shot_tags": " ".join(f"<SHOT> {s}" for s in SHOTS_EN),
    "cut_tags": " <CUT> ".join(SHOTS_EN),
    "bracketed": "\n".join(f"[SHOT {i + 1}] {s}" + (" [CUT]" if i < 3 else "") for i, s in enumerate(SHOTS_EN)),
}

# seeds/001 (the report, fig. 14/15) and the notes' English translations.
REPORT_ZH = {
    "boxing": (
        "从观众视角切入场内灯光聚焦,转为拳手挥拳慢动作,接着是对手反应的超近特写,最后切到裁判吹哨一刻的动静对比。",
        ["从观众视角切入场内灯光聚焦", "拳手挥拳慢动作", "对手反应的超近特写", "裁判吹哨一刻的动静对比"],
    ),
    "robot": (
        # as printed in the report, with PDF line-wrap spaces inside the Chinese text
        "镜头从废墟中前行机器人脚步切入,切至头部 光学镜头扫描特写,再转为它视角中的城市轮廓扫描 图像,最终定格在墙上涂鸦'HUMANITY?'。",
        ["镜头从废墟中前行机器人脚步切入", "头部光学镜头扫描特写", "它视角中的城市轮廓扫描图像", "墙上涂鸦'HUMANITY?'"],
    ),
    "cyclist": (
        "清晨,一位少年骑着自行车穿过欧洲老城区。镜头从石板路上的车轮切入,切换为街边行人的仰视视角,再是他穿梭巷道的第三人称航拍视角,最后以他驶入阳光洒满的广场作为结束画面。",
        ["清晨,一位少年骑着自行车穿过欧洲老城区。镜头从石板路上的车轮切入", "街边行人的仰视视角",
         "他穿梭巷道的第三人称航拍视角", "他驶入阳光洒满的广场作为结束画面"],
    ),
    "bar": (
        "电影感,暖色调,中远景拍摄,一个美丽的女人坐在酒吧门口哭泣,她一头短发,穿着红色长裙,背后是一片模糊的霓虹玻璃。"
        "镜头切换,特写她脚边的一地烟头和空酒瓶。镜头切换,一个穿西装的男人走到她身旁拍了拍她的肩膀",
        None,  # three shots; texts checked below
    ),
}
REPORT_EN_ARROWS = (
    "Cut in from the crowd’s viewpoint as the spotlights converge in the ring → switch to the boxer throwing "
    "punches in slow-motion → ultra-close-up of the opponent’s reaction → final cut to the referee blowing the "
    "whistle, contrasting motion and stillness."
)


def _strip(s: str) -> str:
    return s.rstrip("。.")


@pytest.mark.parametrize("form", sorted(NOTES_FORMS))
def test_notes_syntaxes_give_the_same_four_shots(form):
    parsed = parse_multishot(NOTES_FORMS[form])
    assert parsed.syntax == "markers"
    assert parsed.shots == SHOTS_EN
    assert parsed.warnings == []


@pytest.mark.parametrize("name", ["boxing", "robot", "cyclist"])
def test_report_chinese_cut_words(name):
    prompt, expected = REPORT_ZH[name]
    parsed = parse_multishot(prompt)
    assert parsed.syntax == "cut_words"
    assert [_strip(s) for s in parsed.shots] == expected


def test_report_bar_scene_splits_on_jingtou_qiehuan():
    parsed = parse_multishot(REPORT_ZH["bar"][0])
    assert parsed.n_shots == 3
    assert parsed.shots[0].startswith("电影感,暖色调")
    assert _strip(parsed.shots[1]) == "特写她脚边的一地烟头和空酒瓶"
    assert parsed.shots[2].startswith("一个穿西装的男人")


def test_cut_in_is_not_a_cut():
    # "切入" (cut in) opens a shot; it must not split "从观众视角切入场内灯光聚焦"
    assert parse_multishot("从观众视角切入场内灯光聚焦").shots == ["从观众视角切入场内灯光聚焦"]


def test_arrows_and_leading_transition_words():
    parsed = parse_multishot(REPORT_EN_ARROWS)
    assert parsed.syntax == "arrows"
    assert parsed.n_shots == 4
    assert parsed.shots[1] == "the boxer throwing punches in slow-motion"  # "switch to" removed
    assert parsed.shots[3].startswith("the referee blowing the whistle")  # "final cut to" removed
    assert parse_multishot("a red circle -> a blue square").shots == ["a red circle", "a blue square"]
    assert parse_multishot("A => B ⟶ C").shots == ["A", "B", "C"]


def test_english_cut_words_only_at_clause_start():
    parsed = parse_multishot("A boy runs across the field. Cut to a close-up of his face. Then cut to the sky.")
    assert parsed.shots == ["A boy runs across the field.", "a close-up of his face.", "the sky."]
    # "haircut to" / "cut to size" inside a clause is not a cut
    assert parse_multishot("A barber gives a haircut to a man").n_shots == 1


def test_explicit_markers_win_over_arrows_and_cut_words():
    parsed = parse_multishot("[SHOT 1] a -> b [CUT] [SHOT 2] 转为 c")
    assert parsed.shots == ["a -> b", "转为 c"]


def test_preamble_is_prepended_to_every_shot():
    parsed = parse_multishot("Cinematic, warm tones. [SHOT 1] a woman cries [SHOT 2] a man walks in")
    assert parsed.preamble == "Cinematic, warm tones."
    assert parsed.shots == ["Cinematic, warm tones. a woman cries", "Cinematic, warm tones. a man walks in"]
    zh = parse_multishot("电影感，暖色调。镜头1：女人哭泣 镜头2：男人走来")
    assert zh.shots == ["电影感,暖色调。女人哭泣", "电影感,暖色调。男人走来"]


def test_chinese_numbered_shots_and_numbering_warning():
    parsed = parse_multishot("第一个镜头：红色圆形向左移动。第二个镜头：蓝色方块弹跳")
    assert parsed.shots == ["红色圆形向左移动。", "蓝色方块弹跳"]
    gap = parse_multishot("[SHOT 1] a [SHOT 3] b")
    assert gap.shots == ["a", "b"] and any("not consecutive" in w for w in gap.warnings)


def test_single_shot_prompt():
    parsed = parse_multishot("  a red circle moves to the left  ")
    assert parsed.syntax == "single" and parsed.shots == ["a red circle moves to the left"]


def test_mixed_languages():
    parsed = parse_multishot("一个红色圆形向左移动 -> a blue square bounces → 镜头推近")
    assert parsed.shots == ["一个红色圆形向左移动", "a blue square bounces", "镜头推近"]
    mixed = parse_multishot("Shot 1: 红色的鸟 flies left. Shot 2: 蓝色的鱼 swims")
    assert mixed.shots == ["红色的鸟 flies left.", "蓝色的鱼 swims"]


@pytest.mark.parametrize("bad", ["", "   ", "\n\t  \u3000"])
def test_empty_prompt_is_a_clear_error(bad):
    with pytest.raises(MultiShotPromptError, match="empty"):
        parse_multishot(bad)


def test_markers_without_text_are_an_error():
    with pytest.raises(MultiShotPromptError, match="no shot text"):
        parse_multishot("[SHOT 1] [CUT] [SHOT 2]")


def test_invalid_utf8_bytes_are_a_clear_error():
    with pytest.raises(MultiShotPromptError, match=r"not valid UTF-8.*offset 3"):
        parse_multishot(b"abc\xff\xfe def")
    with pytest.raises(MultiShotPromptError, match="not valid UTF-8"):
        parse_multishot("abc\udcff")  # a lone surrogate from a surrogateescape'd read
    # valid UTF-8 bytes (with a BOM) are fine
    assert parse_multishot("\ufeff镜头1：红色圆形".encode()).shots == ["红色圆形"]


def test_control_characters_are_removed_with_a_warning():
    parsed = parse_multishot("a red\x00 circle\x07")
    assert parsed.shots == ["a red circle"] and parsed.warnings


def test_token_budget_truncates_with_a_warning():
    prompt = NOTES_FORMS["bracketed"]
    full = parse_multishot(prompt)
    total = sum(approx_token_count(s) for s in full.shots)
    cut = parse_multishot(prompt, max_tokens=total // 2)
    assert 1 <= cut.n_shots < 4
    assert sum(approx_token_count(s) for s in cut.shots) <= total // 2
    assert any("over the budget" in w for w in cut.warnings)
    assert parse_multishot(prompt, max_tokens=total).warnings == []
    # a custom counter (e.g. the text encoder's tokenizer) is honoured
    chars = parse_multishot("红色圆形向左移动", max_tokens=3, count_tokens=len)
    assert chars.shots == ["红色圆"] and chars.warnings
    with pytest.raises(MultiShotPromptError):
        parse_multishot("abc", max_tokens=0)


def test_approx_token_count_counts_cjk_characters_and_words():
    assert approx_token_count("a red circle") == 3
    assert approx_token_count("红色圆形") == 4
    assert approx_token_count("red 圆形!") == 4
