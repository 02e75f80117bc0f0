"""MLflow tracking as a Dagster resource: one run per materialization, tagged back to Dagster.

The default tracking store is a SQLite file plus an artifact directory under the data root, so
`mlflow ui --backend-store-uri sqlite:///data/mlflow/mlflow.db` shows every run without a server.
`tracking_uri` points at a tracking server instead. Tags link a run to what produced it: Dagster run
id, asset key, partition, upstream data versions, git commit and preset. Credentials never appear
in tags or params (`redact` drops anything that looks like a secret).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import dagster as dg
from pydantic import Field

from resources.paths import REPO_ROOT, data_root

_SECRET = re.compile(r"(secret|password|token|credential|access_key|api_key)", re.IGNORECASE)


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=False
        )
        sha = out.stdout.strip()
        if not sha:
            return "unknown"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=False,
        ).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def redact(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: ("***" if _SECRET.search(k) else v) for k, v in params.items()}


def flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested config -> `a.b.c` keys, as MLflow params are flat."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


@dataclass
class TrackedRun:
    run_id: str
    experiment_id: str
    url: str
    tracking_uri: str

    def lightning_logger(self) -> Any:
        """A Lightning MLFlowLogger writing into this run (not a new one)."""
        from lightning.pytorch.loggers import MLFlowLogger

        logger = MLFlowLogger(tracking_uri=self.tracking_uri, run_id=self.run_id, log_model=False)
        return logger

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        import time

        import mlflow

        now = int(time.time() * 1000)
        batch = [mlflow.entities.Metric(k, float(v), now, step or 0) for k, v in metrics.items()]
        mlflow.MlflowClient(self.tracking_uri).log_batch(self.run_id, metrics=batch)

    def log_figure(self, fig: Any, name: str) -> None:
        import mlflow

        mlflow.MlflowClient(self.tracking_uri).log_figure(self.run_id, fig, name)

    def log_artifact(self, path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        import mlflow

        mlflow.MlflowClient(self.tracking_uri).log_artifact(self.run_id, str(path), artifact_path)

    def log_video(self, path: str | os.PathLike[str], name: str = "samples") -> None:
        self.log_artifact(path, name)

    def log_text(self, text: str, name: str) -> None:
        import mlflow

        mlflow.MlflowClient(self.tracking_uri).log_text(self.run_id, text, name)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        import mlflow

        client = mlflow.MlflowClient(self.tracking_uri)
        for k, v in tags.items():
            client.set_tag(self.run_id, k, str(v))


class MlflowTracking(dg.ConfigurableResource):
    """Opens MLflow runs for training assets and returns their URL for asset metadata."""

    tracking_uri: str = Field(default="", description="empty: sqlite under <data root>/mlflow")
    experiment: str = "seedflow"
    ui_url: str = Field(default="http://127.0.0.1:5000", description="base URL of the MLflow UI for links")
    registry: bool = Field(default=True, description="register checkpoints in the model registry")

    def resolved_uri(self) -> str:
        if self.tracking_uri:
            return self.tracking_uri
        root = data_root() / "mlflow"
        root.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{root / 'mlflow.db'}"

    def _experiment_id(self, client: Any, name: str) -> str:
        exp = client.get_experiment_by_name(name)
        if exp is not None:
            return exp.experiment_id
        artifact_location = None
        if not self.tracking_uri:
            artifact_location = (data_root() / "mlflow" / "artifacts").as_uri()
        return client.create_experiment(name, artifact_location=artifact_location)

    @contextlib.contextmanager
    def start_run(
        self,
        context: dg.AssetExecutionContext | dg.OpExecutionContext | None = None,
        *,
        run_name: str,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        experiment: str | None = None,
        preset: str | None = None,
    ) -> Iterator[TrackedRun]:
        import mlflow

        uri = self.resolved_uri()
        client = mlflow.MlflowClient(uri)
        exp_id = self._experiment_id(client, experiment or self.experiment)
        all_tags = {"seedflow.git_commit": git_commit(), "seedflow.preset": preset or _preset_from_env()}
        all_tags.update(dagster_tags(context))
        all_tags.update({k: str(v) for k, v in (tags or {}).items()})
        run = client.create_run(exp_id, run_name=run_name, tags=redact(all_tags))
        tracked = TrackedRun(run.info.run_id, exp_id, self.run_url(exp_id, run.info.run_id), uri)
        if params:
            flat = redact(flatten(params))
            # MLflow caps param values at 6000 chars and batches at 100 params.
            items = [mlflow.entities.Param(k, str(v)[:6000]) for k, v in flat.items()]
            for i in range(0, len(items), 100):
                client.log_batch(run.info.run_id, params=items[i : i + 100])
        status = "FINISHED"
        try:
            yield tracked
        except BaseException:
            status = "FAILED"
            raise
        finally:
            client.set_terminated(run.info.run_id, status=status)

    def run_url(self, experiment_id: str, run_id: str) -> str:
        return f"{self.ui_url.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"

    def register_model(self, run: TrackedRun, artifact_dir: str | os.PathLike[str], name: str, alias: str) -> str:
        """Log a checkpoint directory to the run and register it with an alias per stage."""
        import mlflow

        if not self.registry:
            return ""
        client = mlflow.MlflowClient(run.tracking_uri)
        client.log_artifacts(run.run_id, str(artifact_dir), "checkpoint")
        try:
            client.get_registered_model(name)
        except mlflow.exceptions.MlflowException:
            client.create_registered_model(name)
        mv = client.create_model_version(name, f"runs:/{run.run_id}/checkpoint", run_id=run.run_id)
        client.set_registered_model_alias(name, alias, mv.version)
        return str(mv.version)


def _preset_from_env() -> str:
    try:
        from resources.params import read_params

        return str(read_params().get("preset", "unknown"))
    except Exception:  # a missing params file must not stop tracking
        return "unknown"


def dagster_tags(context: Any) -> dict[str, str]:
    """Dagster run id, asset key, partition and upstream data versions of the current step."""
    if context is None:
        return {}
    tags: dict[str, str] = {}
    with contextlib.suppress(Exception):
        tags["dagster.run_id"] = context.run.run_id
    with contextlib.suppress(Exception):
        tags["dagster.asset_key"] = context.asset_key.to_user_string()
    with contextlib.suppress(Exception):
        if context.has_partition_key:
            tags["dagster.partition"] = context.partition_key
    with contextlib.suppress(Exception):
        versions = upstream_versions(context)
        for k, v in versions.items():
            tags[f"dagster.upstream.{k}"] = v
    return tags


def upstream_versions(context: Any) -> dict[str, str]:
    """Data versions of the asset's upstream assets as last recorded by the Dagster instance."""
    out: dict[str, str] = {}
    for key in sorted(context.assets_def.dependency_keys, key=lambda k: k.to_user_string()):
        ev = context.instance.get_latest_materialization_event(key)
        if ev is not None and ev.asset_materialization is not None:
            version = ev.asset_materialization.tags.get("dagster/data_version")
            if version:
                out[key.to_user_string()] = version
    return out

