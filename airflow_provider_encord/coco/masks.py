"""Run-length masks without numpy: Encord bitmasks and polygons with holes to COCO RLE.

Encord stores a bitmask as run-length counts over the mask's pixels in **row-major** order, serialised with
the same variable-length character code that COCO uses for its compressed RLE. COCO counts run over the pixels
in **column-major** order. Converting one into the other therefore means transposing the mask. This module
does that on runs, never on a pixel array: each mask is turned into per-row column intervals, and the
column-major counts are derived from the places where consecutive rows differ, so the work is proportional to
the number of run boundaries, not to the number of pixels.

Everything here is pure Python so that the default install needs neither numpy nor OpenCV.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

#: Intervals of one mask row: sorted, non-overlapping ``(first_column, end_column)`` pairs, end exclusive.
RowIntervals = list[tuple[int, int]]


def decode_counts(text: str) -> list[int]:
    """Decode a compressed RLE string (COCO's and Encord's shared character code) into run lengths.

    Each count is stored in 5-bit groups, low bits first, as characters offset by 48; bit 6 marks that another
    group follows and bit 5 of the last group is the sign. From the fourth count on, the stored value is the
    difference to the count two places earlier.

    :param text: the serialised counts
    :return: the run lengths, alternating background and foreground, starting with background
    """
    counts: list[int] = []
    position = 0
    length = len(text)
    while position < length:
        value = 0
        shift = 0
        while True:
            code = ord(text[position]) - 48
            position += 1
            value |= (code & 0x1F) << shift
            shift += 5
            if not code & 0x20 or position >= length:
                if code & 0x10:
                    value -= 1 << shift
                break
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value)
    return counts


def encode_counts(counts: Sequence[int]) -> str:
    """Encode run lengths into a compressed RLE string as read by ``pycocotools``.

    :param counts: run lengths, alternating background and foreground, starting with background
    :return: the serialised counts
    """
    chars: list[str] = []
    for index, count in enumerate(counts):
        value = count - counts[index - 2] if index > 2 else count
        while True:
            group = value & 0x1F
            value >>= 5
            more = value != -1 if group & 0x10 else value != 0
            if more:
                group |= 0x20
            chars.append(chr(group + 48))
            if not more:
                break
    return "".join(chars)


def row_intervals_from_row_major_counts(
    counts: Iterable[int],
    *,
    mask_width: int,
    top: int,
    left: int,
    image_width: int,
    image_height: int,
) -> dict[int, RowIntervals]:
    """Cut row-major foreground runs into per-row column intervals in image coordinates.

    :param counts: run lengths over the mask, row-major, alternating background and foreground
    :param mask_width: width of the mask the counts run over
    :param top: row of the image where the mask's first row lies
    :param left: column of the image where the mask's first column lies
    :param image_width: image width; intervals are clipped to it
    :param image_height: image height; rows outside are dropped
    :return: image row -> intervals; rows without foreground are absent
    """
    rows: dict[int, RowIntervals] = {}
    position = 0
    foreground = False
    for count in counts:
        if foreground and count > 0:
            start, end = position, position + count
            row = start // mask_width
            while start < end:
                row_start = row * mask_width
                segment_end = min(end, row_start + mask_width)
                image_row = row + top
                first = max(start - row_start + left, 0)
                last = min(segment_end - row_start + left, image_width)
                if 0 <= image_row < image_height and first < last:
                    intervals = rows.setdefault(image_row, [])
                    if intervals and intervals[-1][1] == first:
                        intervals[-1] = (intervals[-1][0], last)
                    else:
                        intervals.append((first, last))
                start = segment_end
                row += 1
        position += count
        foreground = not foreground
    return rows


def _boundaries(intervals: RowIntervals) -> list[int]:
    return [edge for interval in intervals for edge in interval]


def _toggled(previous: list[int], current: list[int]) -> list[int]:
    """Columns whose value differs between two rows, as boundaries (the XOR of two step functions)."""
    merged = sorted(previous + current)
    result: list[int] = []
    for edge in merged:
        if result and result[-1] == edge:
            result.pop()
        else:
            result.append(edge)
    return result


def column_major_counts(rows: dict[int, RowIntervals], *, height: int, width: int) -> list[int]:
    """COCO (column-major) run lengths of a mask given as per-row intervals.

    :param rows: image row -> sorted, non-overlapping column intervals
    :param height: image height
    :param width: image width
    :return: run lengths, alternating background and foreground, starting with background
    """
    toggles: dict[int, list[int]] = {}
    previous: list[int] = []
    previous_row = -1
    for row in sorted(rows):
        current = _boundaries(rows[row])
        if previous and row != previous_row + 1:
            # The rows in between are empty: every column on in the previous row turns off after it.
            _add_toggles(toggles, previous, previous_row + 1)
            previous = []
        _add_toggles(toggles, _toggled(previous, current), row)
        previous, previous_row = current, row
    if previous:
        _add_toggles(toggles, previous, previous_row + 1)

    edges: list[int] = []
    for column in sorted(toggles):
        base = column * height
        for row in toggles[column]:
            edge = base + row
            if edges and edges[-1] == edge:
                edges.pop()  # a run that ends at the bottom of one column and goes on at the top of the next
            else:
                edges.append(edge)
    counts: list[int] = []
    last = 0
    for edge in edges:
        counts.append(edge - last)
        last = edge
    if last < height * width:
        counts.append(height * width - last)
    return counts


def _add_toggles(toggles: dict[int, list[int]], boundaries: list[int], row: int) -> None:
    for index in range(0, len(boundaries), 2):
        for column in range(boundaries[index], boundaries[index + 1]):
            column_toggles = toggles.get(column)
            if column_toggles is None:
                toggles[column] = [row]
            else:
                column_toggles.append(row)


def mask_extent(rows: dict[int, RowIntervals]) -> tuple[int, list[int]]:
    """Pixel count and COCO bounding box ``[x, y, w, h]`` of a mask given as per-row intervals."""
    if not rows:
        return 0, [0, 0, 0, 0]
    area = 0
    first_column = math.inf
    last_column = 0
    for intervals in rows.values():
        for first, last in intervals:
            area += last - first
        first_column = min(first_column, intervals[0][0])
        last_column = max(last_column, intervals[-1][1])
    first_row, last_row = min(rows), max(rows)
    return area, [int(first_column), first_row, int(last_column - first_column), last_row - first_row + 1]


def rasterise_polygons(
    polygons: Sequence[Sequence[Sequence[tuple[float, float]]]], *, height: int, width: int
) -> dict[int, RowIntervals]:
    """Pixels whose centre lies inside the polygons, as per-row intervals.

    Each polygon is a list of rings (outer ring first, then holes) filled by the even-odd rule, so a hole
    removes its pixels from its own polygon; separate polygons are united.

    :param polygons: polygons in pixel coordinates, each a list of rings of ``(x, y)`` points
    :param height: image height
    :param width: image width
    :return: image row -> intervals
    """
    rows: dict[int, RowIntervals] = {}
    for rings in polygons:
        edges = [
            (ring[index - 1], ring[index]) for ring in rings if len(ring) >= 3 for index in range(len(ring))
        ]
        if not edges:
            continue
        ys = [point[1] for ring in rings for point in ring]
        first_row = max(math.floor(min(ys) - 0.5), 0)
        last_row = min(math.ceil(max(ys) + 0.5), height - 1)
        for row in range(first_row, last_row + 1):
            centre_y = row + 0.5
            crossings = sorted(
                x0 + (centre_y - y0) * (x1 - x0) / (y1 - y0)
                for (x0, y0), (x1, y1) in edges
                if (y0 <= centre_y < y1) or (y1 <= centre_y < y0)
            )
            intervals = []
            for index in range(0, len(crossings) - 1, 2):
                # Column c is inside when its centre c + 0.5 lies in [enter, leave).
                first = max(math.ceil(crossings[index] - 0.5), 0)
                last = min(math.ceil(crossings[index + 1] - 0.5), width)
                if first < last:
                    intervals.append((first, last))
            if intervals:
                rows[row] = _union(rows.get(row, []), intervals)
    return rows


def _union(existing: RowIntervals, new: RowIntervals) -> RowIntervals:
    if not existing:
        return new
    merged: RowIntervals = []
    for first, last in sorted(existing + new):
        if merged and first <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged
