"""Encord label rows to COCO, streaming: linear in the number of annotations, flat in memory.

:func:`write_coco` writes a project's labels to a binary file as one COCO JSON document;
:func:`export_coco_dict` returns the same document as a dictionary (for small projects). Label rows are read
in bundles, with read-only requests only: rows that were never labelled are skipped, not created. The
conversion itself (:class:`CocoConverter`) is pure: label row dictionaries in, COCO dictionaries out. Neither
numpy nor OpenCV is needed.

**Document.** ``{"info", "categories", "images", "annotations"}``, in that order. Coordinates are pixels
(Encord's normalised values times the image width or height), rounded to 1/100 pixel.

**Categories** are the ontology's objects. Ids come from Encord's own object ids (small integers starting at 1
that Encord does not reuse) when they are all distinct positive integers, otherwise from the ontology order
starting at 1; the same ontology always gives the same ids, and filtering on ``object_classes`` keeps them.
``supercategory`` and ``encord_shape`` are the Encord shape, ``encord_feature_hash`` the object's feature
hash. Point classes have ``keypoints: [name]``; skeleton classes have their template's vertex names as
``keypoints`` and its edges as ``skeleton`` (1-based).

**Images.** One per image (and per image of an image group); for videos, DICOM and NIfTI, one per frame that
has objects or classifications. ``file_name`` is the data title (``<title>/<frame:06d>.jpg`` for frames),
``width`` and ``height`` are pixels. Extensions: ``encord_label_hash``, ``encord_data_hash``, ``encord_frame``
(the frame or the position in the image group), ``coco_url`` (the data link, when it is a URL) and
``encord_classifications``: the classifications on this frame plus those of the whole label row (marked
``"global": true``), each ``{"classification_hash", "feature_hash", "name", "answers": [{"name",
"feature_hash", "answers"}]}``. Rows of other data types (audio, text, PDF, ...) are skipped and counted.

**Annotations.** Ids from 1; ``bbox`` ``[x, y, w, h]``; ``area``; ``segmentation``; ``iscrowd``:

- bounding box: the box, its four corners as polygon, area ``w*h``;
- rotatable box: ``bbox`` is the box before rotation and ``encord_rotation`` the angle in degrees (clockwise,
  about the box centre); ``segmentation`` is the rotated rectangle; area ``w*h``;
- polygon: one ring per polygon in ``segmentation``; area by the shoelace formula (holes subtracted). A
  polygon with holes, which COCO polygons cannot express, gets an RLE ``segmentation`` (pixels whose centre is
  inside) and keeps its exact rings in ``encord_polygons`` (``[[outer, hole, ...], ...]``, flat ``x, y``
  lists);
- polyline: ``encord_polyline`` (flat ``x, y`` list), ``bbox`` around it, area 0;
- point: ``keypoints`` ``[x, y, 2]``, ``num_keypoints`` 1, zero-size ``bbox``, area 0;
- skeleton: ``keypoints`` in the template's vertex order with visibility 2 (visible), 1 (occluded) or 0
  (invisible or missing, at ``0, 0``), ``bbox`` around the shown vertices, area of that box;
- bitmask: RLE ``segmentation`` (COCO's column-major counts), ``iscrowd`` 1, area the pixel count.

Shapes without an area (polyline, point, skeleton) carry an all-background RLE as ``segmentation`` so every
COCO tool, ``COCOeval`` with ``iouType="segm"`` included, can read them. Every annotation has
``encord_object_hash`` (the same across the frames of a video: use it as a track id) and
``encord_feature_hash``; objects with answered attributes have ``encord_attributes`` (``[{"name",
"feature_hash", "answers"}]``, static attributes only). Other shapes (cuboids, circles, ...) are skipped and
counted.
"""

from __future__ import annotations

from airflow_provider_encord.coco.converter import CocoConverter, build_categories
from airflow_provider_encord.coco.export import export_coco_dict, write_coco
from airflow_provider_encord.coco.writer import CocoStreamWriter

__all__ = ["CocoConverter", "CocoStreamWriter", "build_categories", "export_coco_dict", "write_coco"]
