"""Sources of raw videos and their batches: a local folder, an S3 prefix, or the synthetic world.

A batch is one sub-folder (or common S3 prefix) of a source; batches become the dynamic partitions
of `raw_clips` under the key `<source>.<batch>`. Listing never follows a link out of the source
root: such entries are reported so they can be quarantined, not silently skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assets.sourcing.settings import SourceSpec
from resources.paths import data_root

_KEY = re.compile(r"[^A-Za-z0-9_.=-]+")
ROOT_BATCH = "root"  # files directly in the source folder


@dataclass(frozen=True)
class SourceFile:
    relpath: str  # POSIX path inside the batch
    uri: str  # file:// or s3:// location, credential-free
    local: Path | None  # a readable local path (None for S3 until downloaded)
    size: int
    outside_root: bool = False  # a link whose target leaves the source root


def partition_key(source: str, batch: str) -> str:
    return f"{source}.{_KEY.sub('_', batch)}"


def split_partition_key(key: str) -> tuple[str, str]:
    source, _, batch = key.partition(".")
    if not batch:
        raise ValueError(f"raw_clips partition {key!r} is not of the form <source>.<batch>")
    return source, batch


def world_root() -> Path:
    return data_root() / "sources" / "world"


def folder_root(spec: SourceSpec) -> Path:
    if spec.kind == "world":
        return world_root()
    p = Path(spec.uri).expanduser()
    return (p if p.is_absolute() else data_root() / p).resolve()


def list_batches(spec: SourceSpec, s3_client: Any = None) -> list[str]:
    if spec.kind in ("world", "folder"):
        root = folder_root(spec)
        if not root.is_dir():
            return []
        batches = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        if any(p.is_file() for p in root.iterdir()):
            batches.insert(0, ROOT_BATCH)
        return batches
    bucket, prefix = parse_s3_uri(spec.uri)
    resp = s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/")
    out = []
    for page in resp:
        out += [cp["Prefix"][len(prefix) :].strip("/") for cp in page.get("CommonPrefixes", [])]
    return sorted(out)


def list_files(spec: SourceSpec, batch: str, s3_client: Any = None) -> Iterator[SourceFile]:
    if spec.kind == "s3":
        bucket, prefix = parse_s3_uri(spec.uri)
        base = f"{prefix}{batch}/"
        for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=base):
            for obj in page.get("Contents", []):
                rel = obj["Key"][len(base) :]
                if rel and not rel.endswith("/"):
                    yield SourceFile(rel, f"s3://{bucket}/{obj['Key']}", None, int(obj["Size"]))
        return
    root = folder_root(spec)
    base = root if batch == ROOT_BATCH else root / batch
    entries = base.iterdir() if batch == ROOT_BATCH else base.rglob("*")
    for p in sorted(entries):
        if p.name.startswith(".") or p.is_dir() and not p.is_symlink():
            continue
        rel = p.relative_to(base).as_posix()
        target = p.resolve()
        outside = not target.is_relative_to(root)
        if p.is_dir() and not outside:
            continue
        size = 0 if outside or not target.exists() else target.stat().st_size
        yield SourceFile(rel, p.as_uri(), None if outside else target, size, outside)


def parse_s3_uri(uri: str) -> tuple[str, str]:
    m = re.match(r"^s3://([^/]+)/?(.*)$", uri)
    if not m:
        raise ValueError(f"not an s3:// URI: {uri!r}")
    prefix = m.group(2)
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return m.group(1), prefix

