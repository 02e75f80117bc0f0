"""Flow matching (report 4.1): velocity prediction, logit-normal timesteps, resolution/duration-aware shift."""

from models.flow.schedule import FlowConfig, logit_normal, resolution_shift, sampling_schedule, time_shift
from models.flow.loss import flow_matching_loss, interpolate
from models.flow.samplers import sample

__all__ = [
    "FlowConfig",
    "flow_matching_loss",
    "interpolate",
    "logit_normal",
    "resolution_shift",
    "sample",
    "sampling_schedule",
    "time_shift",
]
