"""The MLflow resource tags runs with their Dagster lineage and keeps secrets out."""


import dagster as dg
import mlflow

from resources.tracking import MlflowTracking, git_commit


def test_run_tags_link_back_to_dagster(params_file, dagster_instance) -> None:
    params_file()
    tracking = MlflowTracking()
    seen: dict = {}

    @dg.asset
    def upstream() -> int:
        return 1

    @dg.asset(partitions_def=dg.StaticPartitionsDefinition(["a", "b"]), deps=[upstream])
    def trained(context: dg.AssetExecutionContext, tracking: MlflowTracking) -> dg.MaterializeResult:
        with tracking.start_run(context, run_name="trained", params={"model": {"width": 8}, "aws_secret_access_key": "s3cr3t"}) as run:
            run.log_metrics({"train/loss": 0.5}, step=1)
            seen["run"] = run
            seen["dagster_run_id"] = context.run.run_id
        return dg.MaterializeResult(metadata={"mlflow_run": dg.MetadataValue.url(run.url)})

    assert dg.materialize([upstream], instance=dagster_instance).success
    result = dg.materialize([upstream, trained], selection=[trained], partition_key="b",
                            resources={"tracking": tracking}, instance=dagster_instance)
    assert result.success
    run = mlflow.MlflowClient(tracking.resolved_uri()).get_run(seen["run"].run_id)
    tags = run.data.tags
    assert tags["dagster.run_id"] == seen["dagster_run_id"]
    assert tags["dagster.asset_key"] == "trained"
    assert tags["dagster.partition"] == "b"
    assert "dagster.upstream.upstream" in tags
    assert tags["seedflow.git_commit"] == git_commit()
    assert tags["seedflow.preset"] == "tiny"
    assert run.data.params["model.width"] == "8"
    assert run.data.params["aws_secret_access_key"] == "***"  # credentials never reach MLflow
    assert run.data.metrics["train/loss"] == 0.5
    assert run.info.status == "FINISHED"
    md = result.asset_materializations_for_node("trained")[0].metadata
    assert md["mlflow_run"].value.endswith(seen["run"].run_id)
