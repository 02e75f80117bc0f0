"""Resource bindings: one place that decides where artifacts, runs and compute live.

Defaults are the embedded scale (local store, SQLite MLflow, CPU). Real scale is configured with
environment variables, so the same Definitions serve a laptop and a cluster:

| variable | effect |
| --- | --- |
| SEEDFLOW_STORE=s3, SEEDFLOW_S3_BUCKET, SEEDFLOW_S3_PREFIX, SEEDFLOW_S3_ENDPOINT | artifact store on S3 |
| MLFLOW_TRACKING_URI | an MLflow tracking server instead of the local SQLite file |
| SEEDFLOW_ACCELERATOR, SEEDFLOW_DEVICES, SEEDFLOW_STRATEGY, SEEDFLOW_PRECISION, SEEDFLOW_THREADS | Lightning compute (threads: 0 = every CPU) |
| SEEDFLOW_EXECUTOR=ray, RAY_ADDRESS | curation on a Ray cluster |

Credentials come from the standard AWS variables through boto3 and never appear in config.
"""

from __future__ import annotations

import os
from typing import Any

from dagster_aws.s3 import S3Resource

from resources.compute import ComputeResource
from resources.io_manager import RefIOManager
from resources.params import ParamsResource
from resources.store import ArtifactStore
from resources.tracking import MlflowTracking


def _s3() -> S3Resource:
    endpoint = os.environ.get("SEEDFLOW_S3_ENDPOINT") or None
    return S3Resource(endpoint_url=endpoint, region_name=os.environ.get("AWS_REGION") or None)


def build_resources() -> dict[str, Any]:
    store = ArtifactStore(
        backend="s3" if os.environ.get("SEEDFLOW_STORE") == "s3" else "local",
        s3=_s3(),
        s3_bucket=os.environ.get("SEEDFLOW_S3_BUCKET", ""),
        s3_prefix=os.environ.get("SEEDFLOW_S3_PREFIX", "seedflow"),
    )
    resources: dict[str, Any] = {
        "store": store,
        "io_manager": RefIOManager(store=store),
        "params": ParamsResource(),
        "tracking": MlflowTracking(tracking_uri=os.environ.get("MLFLOW_TRACKING_URI", "")),
        "compute": ComputeResource(
            accelerator=os.environ.get("SEEDFLOW_ACCELERATOR", "cpu"),  # type: ignore[arg-type]
            devices=int(os.environ.get("SEEDFLOW_DEVICES", "1")),
            strategy=os.environ.get("SEEDFLOW_STRATEGY", "auto"),  # type: ignore[arg-type]
            precision=os.environ.get("SEEDFLOW_PRECISION", "32-true"),  # type: ignore[arg-type]
            threads=int(os.environ.get("SEEDFLOW_THREADS", "0")),
        ),
        "s3_source": _s3(),
    }
    try:  # the curation executor lives with its group; bind it when that group provides it
        from resources.executor import CurationExecutor

        resources["executor"] = CurationExecutor(
            backend="ray" if os.environ.get("SEEDFLOW_EXECUTOR") == "ray" else "process",
            ray_address=os.environ.get("RAY_ADDRESS", ""),
        )
    except ImportError:
        pass
    return resources
