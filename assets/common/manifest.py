"""Manifests: small parquet tables whose rows point at artifacts in the store.

A stage passes a manifest, not blobs. The parquet bytes are deterministic for the same table, so
the manifest's content hash is the asset's data version.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, TypedDict

import pyarrow as pa
import pyarrow.parquet as pq

from resources.store import ArtifactStore


class ManifestRef(TypedDict):
    path: str
    sha256: str
    rows: int


def table_to_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    # No statistics/timestamps vary between runs; compression fixed so bytes are reproducible.
    pq.write_table(table, buf, compression="zstd", write_statistics=False)
    return buf.getvalue()


def write_manifest(
    store: ArtifactStore, namespace: str, table: pa.Table, schema: pa.Schema | None = None
) -> ManifestRef:
    """Validate `table` against `schema` (if given) and store it content-addressed."""
    if schema is not None:
        missing = [f.name for f in schema if f.name not in table.column_names]
        extra = [c for c in table.column_names if c not in schema.names]
        if missing or extra:
            raise ValueError(f"manifest for {namespace} does not match its schema: missing {missing}, extra {extra}")
        table = table.select(schema.names).cast(schema)
    ref = store.put_bytes(table_to_bytes(table), namespace=namespace, suffix=".parquet")
    return ManifestRef(path=ref.path, sha256=ref.sha256, rows=table.num_rows)


def rows_to_table(rows: list[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
    """Build a table from dict rows; an empty list gives an empty table with the schema."""
    return pa.Table.from_pylist([dict(r) for r in rows], schema=schema)


def read_manifest(store: ArtifactStore, ref: Mapping[str, Any]) -> pa.Table:
    return pq.read_table(io.BytesIO(store.read_bytes(ref["path"])))


def read_partitioned(store: ArtifactStore, value: Mapping[str, Any], key: str) -> pa.Table:
    """Concatenate one manifest across the partitions of a partitioned upstream asset.

    `value` is what the IO manager hands a non-partitioned consumer: `{partition: {key: ref}}`
    (or a single `{key: ref}` when only one partition was loaded).
    """
    if key in value and isinstance(value[key], Mapping) and "path" in value[key]:
        return read_manifest(store, value[key])
    tables = [read_manifest(store, value[p][key]) for p in sorted(value)]
    if not tables:
        raise ValueError("no partitions materialized upstream; materialize them first")
    return pa.concat_tables(tables, promote_options="default")
