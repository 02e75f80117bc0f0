"""The open-world part of the benchmark: prompts for real-scale models, written for seedflow.

Not judgeable automatically (no ground truth): they are scored by the weight-free metrics, by the real
pretrained judges where a user has them, and by human raters through the arena export. Every phrase
below was written for this project in English and Chinese; none is copied from a public prompt list.

A prompt is composed from one *focus* phrase (the sub-label the prompt tests, e.g. a dolly-in for
camera/moves) plus neutral filler (a subject, an action, a setting) so that the focus is the only
demanding element. Composition is seeded, so the open-world set is deterministic for a seed.
"""

from __future__ import annotations

import numpy as np

Pair = tuple[str, str]  # (English, Chinese)

# Neutral filler ---------------------------------------------------------------------------------
SUBJECTS: tuple[Pair, ...] = (
    ("a young cyclist in a yellow raincoat", "一位穿黄色雨衣的年轻骑车人"),
    ("a grey cat", "一只灰色的猫"),
    ("an old lighthouse keeper", "一位年迈的灯塔看守人"),
    ("a paper boat", "一只纸船"),
    ("a street musician with a violin", "一位拉小提琴的街头艺人"),
    ("a red vintage car", "一辆红色老式汽车"),
    ("a girl holding a kite", "一个拿着风筝的女孩"),
    ("a small robot with round eyes", "一个圆眼睛的小机器人"),
)
HUMANS: tuple[Pair, ...] = tuple(p for p in SUBJECTS if p[0].startswith(("a young", "an old", "a street", "a girl")))
ACTIONS: tuple[Pair, ...] = (
    ("moving slowly forward", "缓缓向前移动"),
    ("pausing to look around", "停下来环顾四周"),
    ("turning toward the camera", "转向镜头"),
    ("drifting along", "慢慢漂移"),
)
SETTINGS: tuple[Pair, ...] = (
    ("on a rainy harbour street at dusk", "在黄昏时下雨的港口街道上"),
    ("in a quiet library", "在安静的图书馆里"),
    ("on a windy hilltop", "在起风的山顶上"),
    ("in a crowded night market", "在熙攘的夜市里"),
    ("beside a frozen lake", "在结冰的湖边"),
    ("in a sunlit kitchen", "在洒满阳光的厨房里"),
)

# Focus phrases per (category, sub-label) ----------------------------------------------------------
# Each entry replaces the filler it names: "subject", "action", "setting", or is added as "camera" /
# "style" / "prefix" (shot-level framing written before the sentence).
FOCUS: dict[tuple[str, str], tuple[tuple[str, Pair], ...]] = {
    ("subject", "human"): (
        ("subject", ("a grandmother with silver braids", "一位留着银色发辫的奶奶")),
        ("subject", ("a firefighter with a soot-streaked face", "一位脸上沾着烟灰的消防员")),
        ("subject", ("twin boys in matching sweaters", "一对穿着同款毛衣的双胞胎男孩")),
    ),
    ("subject", "animal"): (
        ("subject", ("a red fox with a bushy tail", "一只尾巴蓬松的赤狐")),
        ("subject", ("a heron standing on one leg", "一只单腿站立的苍鹭")),
        ("subject", ("a sleepy basset hound", "一只昏昏欲睡的巴吉度猎犬")),
    ),
    ("subject", "natural_scene"): (
        ("subject", ("a waterfall in a mossy gorge", "长满青苔的峡谷中的瀑布")),
        ("subject", ("a field of sunflowers", "一片向日葵花田")),
        ("subject", ("sand dunes under a pale moon", "淡淡月光下的沙丘")),
    ),
    ("subject", "consumer_goods"): (
        ("subject", ("a glass perfume bottle with a gold cap", "一个金色瓶盖的玻璃香水瓶")),
        ("subject", ("a pair of white running shoes", "一双白色跑鞋")),
        ("subject", ("a steaming cup of coffee on a saucer", "碟子上一杯冒着热气的咖啡")),
    ),
    ("subject", "virtual"): (
        ("subject", ("a dragon made of paper lanterns", "一条由纸灯笼组成的龙")),
        ("subject", ("a crystal golem", "一个水晶巨人")),
        ("subject", ("a cartoon cloud with a face", "一朵长着脸的卡通云")),
    ),
    ("subject_description", "quantity"): (
        ("subject", ("exactly three orange balloons", "恰好三个橙色气球")),
        ("subject", ("five ducks walking in a line", "排成一行走路的五只鸭子")),
        ("subject", ("two identical teacups", "两个一模一样的茶杯")),
    ),
    ("subject_description", "attributes"): (
        ("subject", ("a woman with short curly hair wearing a long green coat", "一位短卷发、穿绿色长大衣的女人")),
        ("subject", ("a rusty bicycle with a wicker basket", "一辆带柳条筐的生锈自行车")),
        ("subject", ("a black horse with a white blaze on its face", "一匹脸上有白斑的黑马")),
    ),
    ("subject_description", "position"): (
        ("subject", ("a lamp on the left and a cat on the right of a table", "桌子左边一盏台灯、右边一只猫")),
        ("subject", ("a kite high above a small boy", "小男孩头顶高处的一只风筝")),
        ("subject", ("a mug in front of a stack of books", "一摞书前面的一个马克杯")),
    ),
    ("action", "human_activity"): (
        ("action", ("kneading bread dough on a floured board", "在撒了面粉的案板上揉面团")),
        ("action", ("tying a shoelace and standing up", "系好鞋带后站起身")),
        ("action", ("folding a letter and sealing an envelope", "折好信纸并封上信封")),
    ),
    ("action", "multi_entity"): (
        ("action", ("passing a ball to a friend who catches it", "把球传给朋友，朋友接住了")),
        ("action", ("dancing in a circle with three children", "和三个孩子围成一圈跳舞")),
        ("action", ("shaking hands with a stranger", "和一位陌生人握手")),
    ),
    ("action", "animal_locomotion"): (
        ("subject", ("a horse galloping", "一匹奔跑的马")),
        ("subject", ("a frog leaping between lily pads", "在睡莲叶间跳跃的青蛙")),
        ("subject", ("a snake sliding over warm stones", "在温暖石头上滑行的蛇")),
    ),
    ("action", "sports"): (
        ("action", ("serving a tennis ball", "发出一记网球")),
        ("action", ("dribbling a basketball past a defender", "运球晃过一名防守队员")),
        ("action", ("jumping over a hurdle", "跨过一个栏架")),
    ),
    ("action", "natural_phenomena"): (
        ("setting", ("under a purple sky split by forked lightning", "紫色天空中闪电划过")),
        ("setting", ("in the first minutes of a snowfall", "雪开始落下")),
        ("setting", ("beside a flower bud slowly opening", "一朵花苞缓缓绽放")),
    ),
    ("action", "physics"): (
        ("action", ("dropping an egg that cracks on the floor", "让一个鸡蛋掉落并在地上摔碎")),
        ("action", ("pouring honey that folds into a slow ribbon", "倒出的蜂蜜折叠成缓慢的丝带")),
        ("action", ("knocking over a row of dominoes", "推倒一排多米诺骨牌")),
    ),
    ("action", "creative"): (
        ("action", ("turning into a flock of paper birds", "化作一群纸鸟")),
        ("action", ("walking up a wall as if it were the floor", "像在地面上一样走上墙壁")),
        ("action", ("pouring the night sky out of a teapot", "从茶壶里倒出夜空")),
    ),
    ("action_description", "number"): (
        ("action", ("clapping exactly three times", "恰好拍手三次")),
        ("action", ("jumping twice", "跳了两下")),
        ("action", ("knocking on a door four times", "敲门四下")),
    ),
    ("action_description", "direction"): (
        ("action", ("walking from the right edge of the frame to the left", "从画面右边走到左边")),
        ("action", ("climbing diagonally up a staircase", "沿楼梯斜向上爬")),
        ("action", ("turning around and walking away from the camera", "转身背对镜头走远")),
    ),
    ("action_description", "order"): (
        ("action", ("first opening an umbrella, then stepping into the rain", "先撑开雨伞，然后走进雨中")),
        ("action", ("picking up a cup, drinking, and putting it down", "拿起杯子，喝一口，再放下")),
        ("action", ("waving, turning, and then running off", "挥手，转身，然后跑开")),
    ),
    ("action_description", "intensity"): (
        ("action", ("sprinting as fast as possible", "以最快速度冲刺")),
        ("action", ("barely moving, breathing slowly", "几乎不动，缓慢地呼吸")),
        ("action", ("shaking violently with laughter", "笑得浑身剧烈颤抖")),
    ),
    ("camera", "moves"): (
        ("camera", ("Slow dolly-in toward the face.", "镜头缓慢推向面部。")),
        ("camera", ("Circular tracking shot around the subject.", "环绕主体的跟拍镜头。")),
        ("camera", ("Hitchcock zoom: the background stretches while the subject stays the same size.", "希区柯克变焦：主体大小不变，背景被拉伸。")),
        ("camera", ("Lateral pan following the subject.", "横向摇镜跟随主体。")),
    ),
    ("camera", "angles"): (
        ("prefix", ("Low-angle shot,", "仰拍镜头，")),
        ("prefix", ("Top-down overhead shot,", "俯视顶拍镜头，")),
        ("prefix", ("Dutch angle,", "倾斜构图镜头，")),
    ),
    ("camera", "shot_size"): (
        ("prefix", ("Extreme close-up,", "大特写，")),
        ("prefix", ("Wide establishing shot,", "大远景建立镜头，")),
        ("prefix", ("Medium shot from the waist up,", "腰部以上的中景，")),
    ),
    ("camera", "transitions"): (
        ("camera", ("Cut to a close-up of the hands, then cut back to the wide shot.", "切到手部特写，再切回全景。")),
        ("camera", ("Shot-reverse shot between the subject and a friend.", "主体与朋友之间的正反打镜头。")),
        ("camera", ("Match cut from a spinning coin to a spinning planet.", "从旋转的硬币匹配剪辑到旋转的星球。")),
    ),
    ("aesthetic", "style"): (
        ("style", ("Black-and-white silent film style.", "黑白默片风格。")),
        ("style", ("Ink-wash animation style.", "水墨动画风格。")),
        ("style", ("1990s Hong Kong cinema look.", "九十年代港片质感。")),
        ("style", ("Cyberpunk style with neon reflections.", "带霓虹倒影的赛博朋克风格。")),
    ),
    ("aesthetic", "atmosphere"): (
        ("style", ("Melancholic, quiet atmosphere.", "忧郁而安静的氛围。")),
        ("style", ("Tense atmosphere before a storm.", "暴风雨前的紧张氛围。")),
        ("style", ("Warm, festive atmosphere.", "温暖喜庆的氛围。")),
    ),
    ("aesthetic", "lighting"): (
        ("style", ("Golden-hour backlight with long shadows.", "黄金时刻逆光，影子长长。")),
        ("style", ("Hard single spotlight in darkness.", "黑暗中一束强烈的聚光灯。")),
        ("style", ("Soft overcast light, no shadows.", "阴天柔光，没有阴影。")),
    ),
}


def compose(category: str, subcategory: str, rng: np.random.Generator) -> Pair:
    """One open-world prompt (English, Chinese) testing `category/subcategory`."""
    key = (category, subcategory)
    if key not in FOCUS:
        raise KeyError(f"no open-world phrases for {category}/{subcategory}")
    slot, (fen, fzh) = FOCUS[key][int(rng.integers(len(FOCUS[key])))]
    # human actions need a human actor ("a paper boat serving a tennis ball" tests nothing useful)
    pool = HUMANS if slot == "action" and subcategory != "creative" else SUBJECTS
    subj = pool[int(rng.integers(len(pool)))]
    act = ACTIONS[int(rng.integers(len(ACTIONS)))]
    where = SETTINGS[int(rng.integers(len(SETTINGS)))]
    if slot == "subject":
        subj = (fen, fzh)
    elif slot == "action":
        act = (fen, fzh)
    elif slot == "setting":
        where = (fen, fzh)
    if slot == "subject" and subcategory in ("animal_locomotion", "position", "quantity"):
        act = ("", "")  # the focus phrase is the whole subject (motion, layout or count included)
    en = " ".join(p for p in (subj[0], act[0], where[0]) if p)
    en = en[0].upper() + en[1:] + "."
    zh = f"{where[1]}，{subj[1]}{act[1]}。" if act[1] else f"{where[1]}，{subj[1]}。"
    if slot == "prefix":
        en = f"{fen} {en[0].lower()}{en[1:]}"
        zh = f"{fzh}{zh}"
    elif slot in ("camera", "style"):
        en = f"{en} {fen}"
        zh = f"{zh}{fzh}"
    return en, zh
