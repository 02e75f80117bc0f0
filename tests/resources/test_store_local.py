import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from resources.store import ArtifactStore, StoreError, check_relpath, sha256_bytes


def test_put_bytes_is_content_addressed_and_idempotent(store: ArtifactStore) -> None:
    a = store.put_bytes(b"hello", namespace="sourcing/raw", suffix=".bin")
    b = store.put_bytes(b"hello", namespace="sourcing/raw", suffix=".bin")
    assert a == b
    assert a.sha256 == sha256_bytes(b"hello")
    assert a.path == f"sourcing/raw/{a.sha256[:2]}/{a.sha256}.bin"
    assert store.read_bytes(a.path) == b"hello"
    assert store.verify(a.path)
    assert store.list("sourcing") == [a.path]


def test_never_overwrites_and_detects_corruption(store: ArtifactStore) -> None:
    ref = store.put_bytes(b"payload", namespace="x", suffix=".bin")
    path = store.local_path(ref.path)
    os.chmod(path, 0o644)
    path.write_bytes(b"tampered")  # simulate bit rot / an outside writer
    with pytest.raises(StoreError, match="corrupt"):
        store.read_bytes(ref.path)
    assert not store.verify(ref.path)
    # A second put of the original content does not replace the existing object silently.
    store.put_bytes(b"payload", namespace="x", suffix=".bin")
    assert path.read_bytes() == b"tampered"


@pytest.mark.parametrize("bad", ["../etc/passwd", "/abs/path", "a/../../b", "a\\b", "", "a//b/..", "a/.hidden/../x"])
def test_paths_cannot_escape_the_root(store: ArtifactStore, bad: str) -> None:
    with pytest.raises(StoreError):
        store.read_bytes(bad)
    with pytest.raises(StoreError):
        check_relpath(bad)


def test_symlink_inside_root_pointing_out_is_refused(store: ArtifactStore, tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    link = store.local_root / "evil"
    link.symlink_to(outside)
    with pytest.raises(StoreError, match="outside"):
        store.read_bytes("evil")


def test_refs_roundtrip_and_replace(store: ArtifactStore) -> None:
    store.put_ref("raw_clips/world.seed-1", {"a": 1})
    store.put_ref("raw_clips/world.seed-1", {"a": 2})
    assert store.get_ref("raw_clips/world.seed-1") == {"a": 2}
    assert store.has_ref("raw_clips/world.seed-1")
    assert not store.has_ref("raw_clips/nope")


def test_write_killed_midway_leaves_nothing_visible(store: ArtifactStore, tmp_path: Path) -> None:
    """A writer killed while streaming a large object leaves no object under its final name."""
    script = textwrap.dedent(
        f"""
        import os, sys, time
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from resources.store import ArtifactStore
        import resources.store as st
        real_link = os.link
        def slow_link(src, dst):  # the kill lands after the temp file is written, before publication
            print("WRITTEN", flush=True)
            time.sleep(30)
            return real_link(src, dst)
        st.os.link = slow_link
        ArtifactStore(root={str(store.local_root)!r}).put_bytes(b"x" * (1 << 22), namespace="big", suffix=".bin")
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "WRITTEN"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert store.list("big") == []  # readers see nothing: no partial object under a final name
    leftovers = list((store.local_root / ".tmp").iterdir())
    assert all(p.name.startswith("tmp") for p in leftovers)  # only private temp files remain
