"""The S3 path of the artifact store against a real S3-compatible server on loopback (moto server)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import boto3
import pytest
from dagster_aws.s3 import S3Resource

from resources.store import ArtifactStore, StoreError

CREDS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("moto server did not start")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def s3_store(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path) -> ArtifactStore:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    bucket = f"seedflow-{tmp_path.name.lower().replace('_', '-')[:40]}"
    boto3.client("s3", endpoint_url=s3_endpoint, **CREDS).create_bucket(Bucket=bucket)
    return ArtifactStore(
        backend="s3",
        s3=S3Resource(endpoint_url=s3_endpoint, region_name="us-east-1"),
        s3_bucket=bucket,
        s3_prefix="runs/test",
        cache_dir=str(tmp_path / "cache"),
    )


def test_s3_put_read_verify_list(s3_store: ArtifactStore, s3_endpoint: str) -> None:
    ref = s3_store.put_bytes(b"frames", namespace="curation/clips", suffix=".mp4")
    again = s3_store.put_bytes(b"frames", namespace="curation/clips", suffix=".mp4")
    assert ref == again
    assert s3_store.read_bytes(ref.path) == b"frames"
    assert s3_store.verify(ref.path)
    assert s3_store.list("curation") == [ref.path]
    local = s3_store.local_path(ref.path)
    assert local.read_bytes() == b"frames"
    # The object really is in the bucket under the prefix (not an in-process fake).
    client = boto3.client("s3", endpoint_url=s3_endpoint, **CREDS)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=s3_store.s3_bucket)["Contents"]]
    assert keys == [f"runs/test/{ref.path}"]


def test_s3_put_file_never_overwrites(s3_store: ArtifactStore, s3_endpoint: str, tmp_path) -> None:
    src = tmp_path / "a.bin"
    src.write_bytes(b"v1")
    ref = s3_store.put_file(src, namespace="x", suffix=".bin")
    client = boto3.client("s3", endpoint_url=s3_endpoint, **CREDS)
    key = f"runs/test/{ref.path}"
    client.put_object(Bucket=s3_store.s3_bucket, Key=key, Body=b"tampered")
    s3_store.put_file(src, namespace="x", suffix=".bin")  # sees the object exists: no overwrite
    assert client.get_object(Bucket=s3_store.s3_bucket, Key=key)["Body"].read() == b"tampered"
    with pytest.raises(StoreError, match="corrupt"):
        s3_store.read_bytes(ref.path)


def test_s3_refs_and_escape(s3_store: ArtifactStore) -> None:
    s3_store.put_ref("raw_clips/__all__", {"x": 1})
    assert s3_store.get_ref("raw_clips/__all__") == {"x": 1}
    with pytest.raises(StoreError):
        s3_store.read_bytes("../outside")
    assert "testing" not in s3_store.describe()
