"""Jobs over the asset graph, one per unpartitioned stage group (partitioned `raw_clips` runs per batch)."""

from __future__ import annotations

import dagster as dg

jobs: list[dg.UnresolvedAssetJobDefinition] = []
