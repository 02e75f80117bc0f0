"""The pass's thread configurations: a pool worker's (OpenCV on one thread, decoding in the calling
thread) gives the same analysis bytes as the libraries' threaded defaults, and restores OpenCV's
thread count; the bare-decode baseline decodes the same frames in either configuration."""

from __future__ import annotations

import cv2
import numpy as np

from assets.curation.analysis import CellGrid, analyse_video, cell_total, decode_only, worker_threads
from assets.curation.cache import analysis_to_bytes
from assets.curation.settings import CurationSettings

S = CurationSettings(analysis_width=128)


def test_worker_configuration_gives_the_same_bytes(defect_video) -> None:
    threaded = analysis_to_bytes(analyse_video(defect_video[0], S))
    before = cv2.getNumThreads()
    with worker_threads():
        assert cv2.getNumThreads() == 1
        single = analysis_to_bytes(analyse_video(defect_video[0], S, decoder_threads=1))
    assert cv2.getNumThreads() == before
    assert single == threaded


def test_decoding_ahead_gives_the_same_bytes(defect_video) -> None:
    """The pass decoding the next blocks in a second thread (`decode_ahead`) analyses the same frames
    in the same order as decoding in line; an error in that thread is raised in the caller's."""
    import pytest

    from assets.curation.analysis import _run_ahead

    with worker_threads():
        inline = analysis_to_bytes(analyse_video(defect_video[0], S, decoder_threads=1, decode_ahead=False))
        ahead = analysis_to_bytes(analyse_video(defect_video[0], S, decoder_threads=1, decode_ahead=True))
    assert ahead == inline

    def failing():
        yield 1
        yield 2
        raise ValueError("broken block")

    got = []
    with pytest.raises(ValueError, match="broken block"):
        for b in _run_ahead(failing(), depth=1):
            got.append(b)
    assert got == [1, 2]


def test_decode_only_counts_every_frame_in_both_configurations(defect_video) -> None:
    assert decode_only(defect_video[0], 128) == decode_only(defect_video[0], 128, decoder_threads=1) == 174


def test_cell_total_matches_a_direct_sum() -> None:
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((36, 64)) * 40).astype(np.float32)
    cells = CellGrid(36, 64, 8)
    ys, xs = np.append(cells.ys, 36), np.append(cells.xs, 64)
    direct = np.array([[a[ys[i] : ys[i + 1], xs[j] : xs[j + 1]].astype(np.float64).sum() for j in range(8)] for i in range(8)])
    np.testing.assert_allclose(cell_total(a, cells), direct, rtol=0, atol=1e-9)
