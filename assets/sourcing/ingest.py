"""Ingest one batch of raw files: probe each, store the good ones, quarantine the rest.

Nothing is lost: every file listed in the batch ends in exactly one of the two tables, so
`ingested + quarantined == files seen` holds for every batch (the asset asserts it).
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from tqdm import tqdm

from assets.sourcing.probe import Rejection, VideoFacts, probe_file
from assets.sourcing.settings import SourceSpec, SourcingSettings
from assets.sourcing.sources import SourceFile, list_files, parse_s3_uri
from resources.store import ArtifactStore, sha256_file


@dataclass
class IngestResult:
    clips: list[dict[str, Any]] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    files_seen: int = 0
    bytes_seen: int = 0

    def reasons(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for q in self.quarantine:
            out[q["reason"]] = out.get(q["reason"], 0) + 1
        return dict(sorted(out.items()))


def ingest_batch(
    spec: SourceSpec,
    batch: str,
    partition: str,
    settings: SourcingSettings,
    store: ArtifactStore,
    s3_client: Any = None,
    progress: bool = True,
) -> IngestResult:
    files = list(list_files(spec, batch, s3_client))
    result = IngestResult(files_seen=len(files), bytes_seen=sum(f.size for f in files))

    def one(f: SourceFile) -> tuple[str, dict[str, Any]]:
        return _ingest_file(spec, f, partition, settings, store, s3_client)

    with ThreadPoolExecutor(max_workers=settings.workers) as pool:
        outcomes = list(
            tqdm(pool.map(one, files), total=len(files), desc=f"ingest {partition}", disable=not progress)
        )
    for kind, row in outcomes:
        (result.clips if kind == "clip" else result.quarantine).append(row)
    result.clips.sort(key=lambda r: r["source_relpath"])
    result.quarantine.sort(key=lambda r: r["source_relpath"])
    assert len(result.clips) + len(result.quarantine) == result.files_seen
    return result


def _quarantine(spec: SourceSpec, f: SourceFile, partition: str, reason: str, detail: str, sha: str = "") -> tuple[str, dict[str, Any]]:
    return "quarantine", {
        "batch": partition,
        "source": spec.name,
        "source_uri": f.uri,
        "source_relpath": f.relpath,
        "size_bytes": f.size,
        "sha256": sha,
        "reason": reason,
        "detail": detail,
    }


def _ingest_file(
    spec: SourceSpec,
    f: SourceFile,
    partition: str,
    settings: SourcingSettings,
    store: ArtifactStore,
    s3_client: Any,
) -> tuple[str, dict[str, Any]]:
    if f.outside_root:
        return _quarantine(spec, f, partition, "symlink_outside_root", "link target leaves the source root; not read")
    suffix = PurePosixPath(f.relpath).suffix.lower()
    if suffix not in settings.extensions:
        return _quarantine(spec, f, partition, "unsupported_extension", f"{suffix or 'no extension'} not in {settings.extensions}")
    if f.size == 0:
        return _quarantine(spec, f, partition, "empty_file", "0 bytes")
    with tempfile.TemporaryDirectory(prefix="seedflow-ingest-") as tmp:
        local = f.local
        if local is None:  # S3: one download, then probe, hash and store from the same bytes
            bucket, _ = parse_s3_uri(f.uri)
            key = f.uri[len(f"s3://{bucket}/") :]
            local = Path(tmp) / f"object{suffix}"
            s3_client.download_file(bucket, key, str(local))
        sha = sha256_file(local)
        facts = probe_file(local, settings)
        if isinstance(facts, Rejection):
            return _quarantine(spec, f, partition, facts.reason, facts.detail, sha)
        assert isinstance(facts, VideoFacts)
        # Copied into the content-addressed store (local or S3) so every later stage reads
        # immutable, verifiable bytes, whatever happens to the source afterwards.
        ref = store.put_file(local, namespace="sourcing/raw", suffix=suffix)
    return "clip", {
        "video_id": sha[:16],
        "batch": partition,
        "source": spec.name,
        "source_uri": f.uri,
        "source_relpath": f.relpath,
        "path": ref.path,
        "sha256": sha,
        "size_bytes": f.size,
        "duration_s": facts.duration_s,
        "fps": facts.fps,
        "n_frames": facts.n_frames,
        "width": facts.width,
        "height": facts.height,
        "codec": facts.codec,
        "pix_fmt": facts.pix_fmt,
        "rotation": facts.rotation,
        "has_audio": facts.has_audio,
        "bitrate": facts.bitrate,
    }
