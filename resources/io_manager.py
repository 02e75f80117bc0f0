"""An IO manager that stores asset values as JSON refs in the artifact store. Nothing is pickled.

Asset values in seedflow are small JSON-able dicts (manifest refs, checkpoint file maps), so they
are kept as `refs/<asset key>/<partition>.json` next to the artifacts they point at: DVC pins them
together, and a downstream asset run from the Dagster CLI in another process finds them.
"""

from __future__ import annotations

import json
from typing import Any

import dagster as dg

from resources.store import ArtifactStore, check_relpath

UNPARTITIONED = "__all__"


def ref_name(asset_key: dg.AssetKey, partition: str | None) -> str:
    return check_relpath(f"{'__'.join(asset_key.path)}/{partition or UNPARTITIONED}")


class RefIOManager(dg.ConfigurableIOManager):
    store: ArtifactStore

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if obj is None:
            return
        try:
            json.dumps(obj)
        except TypeError as exc:
            raise TypeError(
                f"asset {context.asset_key.to_user_string()} returned a value that is not JSON "
                f"({exc}); return manifest refs (assets.common.outputs.manifest_output), not objects"
            ) from None
        partitions = context.asset_partition_keys if context.has_asset_partitions else [None]
        for p in partitions:
            self.store.put_ref(ref_name(context.asset_key, p), obj)

    def load_input(self, context: dg.InputContext) -> Any:
        key = context.asset_key
        if context.has_asset_partitions:
            keys = list(context.asset_partition_keys)
            values, missing = {}, []
            for p in keys:
                name = ref_name(key, p)
                if self.store.has_ref(name):
                    values[p] = self.store.get_ref(name)
                else:
                    missing.append(p)
            if missing:
                # A batch that failed ingestion must not block the batches that made it.
                context.log.warning(
                    f"{key.to_user_string()}: {len(missing)} partition(s) not materialized, skipped: {missing[:10]}"
                )
            if not values:
                raise FileNotFoundError(f"no partition of {key.to_user_string()} is materialized; materialize one first")
            return values
        name = ref_name(key, None)
        if not self.store.has_ref(name):
            raise FileNotFoundError(f"{key.to_user_string()} has no stored value; materialize it first")
        return self.store.get_ref(name)
