"""The SeedVideoBench-style label taxonomy (report 7.2.1) and which part of it the synthetic world can judge.

Six top-level categories, each with sub-labels taken from the report's text:

* subject               what is generated (report: humans, animals, natural scenes, consumer goods, virtual
                         subjects; the synthetic world has geometric shapes and simple creatures)
* subject_description   quantity, attributes, position
* action                kinds of motion (report: human activities, multi-entity interactions, animal
                         locomotion, sports, natural phenomena, physics, creative motion; the world has
                         translation, periodic and deformation motions)
* action_description    number (how many act), direction, order (temporal sequencing), intensity
* camera                moves, angles, shot size, transitions between shots
* aesthetic             style, atmosphere, lighting

Prompts are spread uniformly over the six categories, then uniformly over each category's sub-labels.
The synthetic world only renders what its vocabulary declares, so some sub-labels (position, intensity,
angles, shot size, lighting) exist only in the open-world part; `SYNTHETIC` lists what the world covers.
"""

from __future__ import annotations

CATEGORIES: tuple[str, ...] = (
    "subject",
    "subject_description",
    "action",
    "action_description",
    "camera",
    "aesthetic",
)

# Sub-labels of the open-world part (the full taxonomy of the report).
OPEN_WORLD: dict[str, tuple[str, ...]] = {
    "subject": ("human", "animal", "natural_scene", "consumer_goods", "virtual"),
    "subject_description": ("quantity", "attributes", "position"),
    "action": ("human_activity", "multi_entity", "animal_locomotion", "sports", "natural_phenomena", "physics", "creative"),
    "action_description": ("number", "direction", "order", "intensity"),
    "camera": ("moves", "angles", "shot_size", "transitions"),
    "aesthetic": ("style", "atmosphere", "lighting"),
}

# Sub-labels the synthetic world renders and the automatic judges can check.
SYNTHETIC: dict[str, tuple[str, ...]] = {
    "subject": ("shapes", "creatures"),
    "subject_description": ("quantity", "attributes"),
    "action": ("translation", "periodic", "deformation"),
    # multi-shot sub-labels first, so that even a tiny suite contains multi-shot prompts
    "action_description": ("order", "number", "direction"),
    "camera": ("transitions", "moves"),
    "aesthetic": ("style", "atmosphere"),
}

# World vocabulary subsets behind the synthetic sub-labels.
SHAPES = ("circle", "square", "triangle", "star", "ring", "cross")
CREATURES = ("fish", "bird")
TRANSLATION = ("left", "right", "up", "down")
PERIODIC = ("orbit", "bounce", "rotate")
DEFORMATION = ("grow", "shrink")
MOVING_CAMERAS = ("pan_left", "pan_right", "tilt_up", "tilt_down", "zoom_in", "zoom_out", "shake")

# Sub-labels whose synthetic prompts ask for 2-4 shots (temporal order across cuts, transitions).
MULTI_SHOT_SUBCATEGORIES = ("order", "transitions")
