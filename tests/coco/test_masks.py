"""Run-length helpers against pycocotools on random masks (the reference implementation of COCO RLE)."""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from airflow_provider_encord.coco.masks import (
    column_major_counts,
    decode_counts,
    encode_counts,
    mask_extent,
    row_intervals_from_row_major_counts,
)


def row_major_runs(mask: np.ndarray) -> list[int]:
    flat = mask.ravel(order="C").astype(np.int8)
    changes = np.flatnonzero(np.diff(flat)) + 1
    edges = np.concatenate([[0], changes, [flat.size]])
    runs = np.diff(edges).tolist()
    return ([0, *runs]) if flat[0] else runs


@pytest.mark.parametrize("seed", range(40))
def test_transposed_runs_decode_to_the_same_mask(seed):
    rng = np.random.default_rng(seed)
    height, width = (int(v) for v in rng.integers(1, 40, 2))
    mask = rng.random((height, width)) < rng.random()
    reference = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    counts_text = reference["counts"].decode()
    assert encode_counts(decode_counts(counts_text)) == counts_text

    rows = row_intervals_from_row_major_counts(
        row_major_runs(mask), mask_width=width, top=0, left=0, image_width=width, image_height=height
    )
    counts = column_major_counts(rows, height=height, width=width)
    assert sum(counts) == height * width
    decoded = mask_utils.decode({"size": [height, width], "counts": encode_counts(counts).encode()})
    assert (decoded.astype(bool) == mask).all()
    area, bbox = mask_extent(rows)
    assert area == int(mask.sum())
    if area:
        assert bbox == [int(v) for v in mask_utils.toBbox(reference)]


def test_large_counts_and_negative_deltas_round_trip():
    counts = [0, 5_000_000, 3, 1, 4_000_000, 2, 7]
    assert decode_counts(encode_counts(counts)) == counts
