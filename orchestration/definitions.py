"""The one Definitions object: every group's defs merged, with resources bound.

Loaded by `workspace.yaml` (`dagster dev -w workspace.yaml`) and by
`dagster asset materialize -m orchestration.definitions`. Domain logic lives in `assets/`.
Groups are imported as modules so that this module holds exactly one Definitions at its top level.
"""

import dagster as dg

import assets.benchmarking.defs
import assets.captioning.defs
import assets.curation.defs
import assets.encoding.defs
import assets.finetuning.defs
import assets.pretraining.defs
import assets.prompting.defs
import assets.sourcing.defs
import assets.text_encoding.defs
from orchestration.jobs import jobs
from orchestration.resources import build_resources

GROUP_MODULES = (
    assets.sourcing.defs,
    assets.curation.defs,
    assets.captioning.defs,
    assets.text_encoding.defs,
    assets.prompting.defs,
    assets.encoding.defs,
    assets.pretraining.defs,
    assets.finetuning.defs,
    assets.benchmarking.defs,
)

defs = dg.Definitions.merge(
    *(m.defs for m in GROUP_MODULES),
    dg.Definitions(jobs=jobs, resources=build_resources()),
)
