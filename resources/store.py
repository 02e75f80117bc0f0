"""The artifact store: content-addressed, atomic, never overwritten; local directory or S3.

Every heavy artifact (videos, clips, latent shards, checkpoints, manifests, reports) is written here
under `<namespace>/<sha[:2]>/<sha><suffix>`. Because the name is the content hash, a write either
creates a new object or finds the identical one already there, so nothing is ever overwritten and
readers can verify what they read. Local writes go to a temp file in the same filesystem and are
hard-linked into place (atomic, and `link` refuses to replace an existing name); S3 writes are a
single PUT, which S3 makes visible atomically.

Refs (`refs/...json`) are the one mutable kind: small JSON pointers (the IO manager's asset values),
replaced atomically with `os.replace` / a single PUT.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal, Protocol

import dagster as dg
from dagster_aws.s3 import S3Resource
from pydantic import Field

from resources.paths import data_root

_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.=-]*$")
_CHUNK = 1 << 20


class StoreError(ValueError):
    """A path outside the store, a corrupt object, or a missing artifact."""


@dataclass(frozen=True)
class ArtifactRef:
    path: str  # store-relative POSIX path
    sha256: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def check_relpath(rel: str) -> str:
    """Normalise a store path and refuse anything that could escape the root."""
    if not isinstance(rel, str) or not rel:
        raise StoreError("empty store path")
    p = PurePosixPath(rel)
    if p.is_absolute() or "\\" in rel:
        raise StoreError(f"store path must be relative POSIX: {rel!r}")
    for part in p.parts:
        if part in ("..", ".") or not _SEGMENT.match(part):
            raise StoreError(f"illegal segment {part!r} in store path {rel!r}")
    return p.as_posix()


def content_path(namespace: str, sha: str, suffix: str) -> str:
    if suffix and not re.match(r"^\.[A-Za-z0-9_.]+$", suffix):
        raise StoreError(f"illegal suffix {suffix!r}")
    return check_relpath(f"{check_relpath(namespace)}/{sha[:2]}/{sha}{suffix}")


def hash_in_path(rel: str) -> str | None:
    """The sha256 a content-addressed path was named after (None for refs)."""
    m = re.match(r"^([0-9a-f]{64})", PurePosixPath(rel).name)
    return m.group(1) if m else None


class Backend(Protocol):
    def exists(self, rel: str) -> bool: ...
    def write_new(self, rel: str, src: Path) -> bool: ...
    def replace(self, rel: str, data: bytes) -> None: ...
    def read_bytes(self, rel: str) -> bytes: ...
    def local_path(self, rel: str) -> Path: ...
    def list(self, prefix: str) -> Iterator[str]: ...


class LocalBackend:
    def __init__(self, root: Path):
        self.root = root.resolve()
        self.tmp = self.root / ".tmp"

    def _abs(self, rel: str) -> Path:
        p = (self.root / check_relpath(rel)).resolve()
        if not p.is_relative_to(self.root):  # a symlink inside the root pointing out
            raise StoreError(f"{rel!r} resolves outside the store root")
        return p

    def exists(self, rel: str) -> bool:
        return self._abs(rel).exists()

    def write_new(self, rel: str, src: Path) -> bool:
        dst = self._abs(rel)
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, dst)  # atomic, and never replaces an existing name
            return True
        except FileExistsError:
            return False
        except OSError:  # filesystems without hard links: copy to a sibling temp, then rename
            sibling = dst.with_name(f".{dst.name}.{uuid.uuid4().hex}")
            shutil.copyfile(src, sibling)
            if dst.exists():
                sibling.unlink()
                return False
            os.replace(sibling, dst)
            return True

    def replace(self, rel: str, data: bytes) -> None:
        dst = self._abs(rel)
        dst.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dst)

    def read_bytes(self, rel: str) -> bytes:
        p = self._abs(rel)
        if not p.exists():
            raise StoreError(f"no artifact {rel!r} in {self.root}")
        return p.read_bytes()

    def local_path(self, rel: str) -> Path:
        p = self._abs(rel)
        if not p.exists():
            raise StoreError(f"no artifact {rel!r} in {self.root}")
        return p

    def list(self, prefix: str) -> Iterator[str]:
        base = self._abs(prefix) if prefix else self.root
        if not base.exists():
            return
        for p in sorted(base.rglob("*")):
            rel = p.relative_to(self.root).as_posix()
            if p.is_file() and not rel.startswith(".tmp/") and not p.name.startswith("."):
                yield rel


class S3Backend:
    def __init__(self, client: Any, bucket: str, prefix: str, cache: Path):
        self.client, self.bucket = client, bucket
        self.prefix = prefix.strip("/")
        self.cache = cache.resolve()

    def _key(self, rel: str) -> str:
        rel = check_relpath(rel)
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def exists(self, rel: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(rel))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def write_new(self, rel: str, src: Path) -> bool:
        if self.exists(rel):
            return False
        with open(src, "rb") as f:  # one PUT: the object appears whole or not at all
            self.client.put_object(Bucket=self.bucket, Key=self._key(rel), Body=f)
        return True

    def replace(self, rel: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(rel), Body=data)

    def read_bytes(self, rel: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(rel))["Body"].read()
        except ClientError as exc:
            raise StoreError(f"no artifact {rel!r} in s3://{self.bucket}/{self.prefix}: {exc}") from None

    def local_path(self, rel: str) -> Path:
        dst = (self.cache / check_relpath(rel)).resolve()
        if not dst.is_relative_to(self.cache):
            raise StoreError(f"{rel!r} resolves outside the cache")
        if dst.exists():
            return dst
        dst.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.")
        os.close(fd)
        self.client.download_file(self.bucket, self._key(rel), tmp)
        os.replace(tmp, dst)
        return dst

    def list(self, prefix: str) -> Iterator[str]:
        full = self._key(prefix) if prefix else self.prefix
        paginator = self.client.get_paginator("list_objects_v2")
        strip = len(self.prefix) + 1 if self.prefix else 0
        for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
            for obj in page.get("Contents", []):
                yield obj["Key"][strip:]


class ArtifactStore(dg.ConfigurableResource):
    """Content-addressed artifact storage over a local root (default) or an S3 prefix."""

    backend: Literal["local", "s3"] = "local"
    root: str = Field(default="", description="local root; empty means <data root>/store")
    s3: S3Resource = Field(default_factory=S3Resource, description="dagster-aws S3 client settings")
    s3_bucket: str = ""
    s3_prefix: str = "seedflow"
    cache_dir: str = Field(default="", description="local cache for S3 reads; empty: <data root>/cache")

    def _impl(self) -> Backend:
        # Built per call: resources are frozen pydantic models and boto3 clients are cheap to make.
        if self.backend == "local":
            return LocalBackend(self.local_root)
        if not self.s3_bucket:
            raise StoreError("backend 's3' needs s3_bucket")
        cache = Path(self.cache_dir) if self.cache_dir else data_root() / "cache"
        return S3Backend(self.s3.get_client(), self.s3_bucket, self.s3_prefix, cache)

    @property
    def local_root(self) -> Path:
        root = Path(self.root) if self.root else data_root() / "store"
        root.mkdir(parents=True, exist_ok=True)
        return root.resolve()

    def describe(self) -> str:
        """Where the store lives, for metadata and logs (never credentials)."""
        if self.backend == "local":
            return str(self.local_root)
        return f"s3://{self.s3_bucket}/{self.s3_prefix}"

    # -- writes -------------------------------------------------------------------------------
    def put_file(self, src: str | os.PathLike[str], *, namespace: str, suffix: str = "") -> ArtifactRef:
        src = Path(src)
        sha = sha256_file(src)
        rel = content_path(namespace, sha, suffix)
        impl = self._impl()
        if isinstance(impl, LocalBackend):
            # Stage a private copy so a writer changing `src` later cannot alter the stored object.
            impl.tmp.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=impl.tmp)
            os.close(fd)
            try:
                shutil.copyfile(src, tmp)
                os.chmod(tmp, 0o444)
                impl.write_new(rel, Path(tmp))
            finally:
                os.unlink(tmp)
        else:
            impl.write_new(rel, src)
        return ArtifactRef(rel, sha, src.stat().st_size)

    def put_bytes(self, data: bytes, *, namespace: str, suffix: str = "") -> ArtifactRef:
        impl = self._impl()
        tmp_dir = impl.tmp if isinstance(impl, LocalBackend) else None
        if tmp_dir is not None:
            tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=tmp_dir)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            sha = sha256_bytes(data)
            rel = content_path(namespace, sha, suffix)
            os.chmod(tmp, 0o444)
            impl.write_new(rel, Path(tmp))
        finally:
            os.unlink(tmp)
        return ArtifactRef(rel, sha, len(data))

    def put_dir(self, src: str | os.PathLike[str], *, namespace: str) -> dict[str, ArtifactRef]:
        """Store every file of a directory (e.g. a safetensors checkpoint); returns name -> ref."""
        src = Path(src)
        return {
            p.relative_to(src).as_posix(): self.put_file(p, namespace=namespace, suffix="".join(p.suffixes[-1:]))
            for p in sorted(src.rglob("*"))
            if p.is_file()
        }

    def materialize_dir(self, files: dict[str, str], dst: str | os.PathLike[str]) -> Path:
        """Lay out stored files (name -> store path) as a directory, e.g. for `from_pretrained`."""
        dst = Path(dst)
        for name, rel in files.items():
            target = (dst / check_relpath(name)).resolve()
            if not target.is_relative_to(dst.resolve()):
                raise StoreError(f"{name!r} escapes {dst}")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.local_path(rel), target)
        return dst

    # -- refs (mutable JSON pointers) -------------------------------------------------------------
    def put_ref(self, name: str, value: Any) -> str:
        rel = check_relpath(f"refs/{name}.json")
        self._impl().replace(rel, json.dumps(value, sort_keys=True, indent=1).encode())
        return rel

    def get_ref(self, name: str) -> Any:
        return json.loads(self._impl().read_bytes(check_relpath(f"refs/{name}.json")))

    def has_ref(self, name: str) -> bool:
        return self._impl().exists(check_relpath(f"refs/{name}.json"))

    # -- reads --------------------------------------------------------------------------------
    def exists(self, rel: str) -> bool:
        return self._impl().exists(rel)

    def read_bytes(self, rel: str, *, verify: bool = True) -> bytes:
        data = self._impl().read_bytes(rel)
        expected = hash_in_path(rel)
        if verify and expected and sha256_bytes(data) != expected:
            raise StoreError(f"artifact {rel!r} is corrupt: content hash differs from its name")
        return data

    def local_path(self, rel: str) -> Path:
        return self._impl().local_path(rel)

    def verify(self, rel: str, sha256: str | None = None) -> bool:
        expected = sha256 or hash_in_path(rel)
        if expected is None:
            raise StoreError(f"{rel!r} is not content-addressed; pass sha256")
        return sha256_file(self.local_path(rel)) == expected

    def list(self, prefix: str = "") -> list[str]:
        return list(self._impl().list(prefix))
