"""The one Definitions object: every group's defs merged, with resources bound.

Loaded by `workspace.yaml` (`dagster dev -w workspace.yaml`) and by
`dagster asset materialize -m orchestration.definitions`. Domain logic lives in `assets/`.
"""

from __future__ import annotations

import dagster as dg

from assets.benchmarking.defs import defs as benchmarking
from assets.captioning.defs import defs as captioning
from assets.curation.defs import defs as curation
from assets.encoding.defs import defs as encoding
from assets.finetuning.defs import defs as finetuning
from assets.pretraining.defs import defs as pretraining
from assets.prompting.defs import defs as prompting
from assets.sourcing.defs import defs as sourcing
from assets.text_encoding.defs import defs as text_encoding
from orchestration.jobs import jobs
from orchestration.resources import build_resources

defs = dg.Definitions.merge(
    sourcing,
    curation,
    captioning,
    text_encoding,
    prompting,
    encoding,
    pretraining,
    finetuning,
    benchmarking,
    dg.Definitions(jobs=jobs, resources=build_resources()),
)
