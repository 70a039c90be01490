"""Defaults shared by the COCO export, the hook and the operators, in a module that imports nothing.

The ``coco`` package runs without Airflow (the benchmark and any script can use it), and the operators are
imported by every DAG file parse, so neither may import the other for a constant.
"""

from __future__ import annotations

#: Label rows fetched per request by the COCO export unless told otherwise: half the SDK's own bundle of
#: 1000. Fewer requests make a faster export (at 16 000 images, bundles of 100 take about 1.5 times as long
#: as bundles of 500); lower it for label-heavy videos, whose rows can be megabytes each, since a few
#: bundles are held at once.
DEFAULT_BUNDLE_SIZE = 500
