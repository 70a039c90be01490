"""Pure conversion of Encord label rows (their JSON) into COCO images, annotations and categories.

Nothing here talks to a server or imports the Encord SDK: a :class:`CocoConverter` is built from the
ontology's dictionary (``project.ontology_structure.to_dict()``) and turns one label row at a time (the JSON
the ``labelrow`` call returns as a dictionary, ``LabelRowV2.to_encord_dict()``, or the structs
:mod:`~airflow_provider_encord.coco._schema` decodes it into) into COCO dictionaries. It numbers images and
annotations from 1 across all rows it is given. See the package docstring for the fields it writes.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_encord.coco._schema import (
    Attribute,
    ClassificationAnswer,
    DataUnit,
    FrameLabels,
    LabelObject,
    LabelRow,
    ObjectAnswer,
    Point,
    frame_labels,
    label_row,
)
from airflow_provider_encord.coco.masks import (
    column_major_counts,
    decode_counts,
    encode_counts,
    mask_extent,
    rasterise_polygons,
    row_intervals_from_row_major_counts,
)

#: Label row data types whose data units are single images (one COCO image per data unit).
IMAGE_DATA_TYPES = frozenset({"image", "img_group"})
#: Label row data types whose labels are keyed by frame (one COCO image per labelled frame).
FRAME_DATA_TYPES = frozenset({"video", "dicom", "nifti"})

#: Skeleton vertex visibility (Encord) -> COCO keypoint visibility flag.
_VISIBILITY = {"visible": 2, "occluded": 1, "selfOccluded": 1, "self_occluded": 1, "invisible": 0}

#: The labels of a frame without any.
_NO_LABELS = FrameLabels()

#: Pixel coordinates are rounded to 1/100 px: ``floor(v * 100 + 0.5) / 100`` (half up), whose shortest
#: representation has at most two decimals. It costs a fifth of ``round(v, 2)``, which formats the number as
#: a decimal string to round it, and a 16k-image export rounds a million numbers.
_SCALE = 100.0
_floor = math.floor


@dataclass
class ConversionStats:
    """Counts collected while converting; ``as_dict`` gives the summary :func:`write_coco` returns."""

    label_rows: int = 0
    images: int = 0
    annotations: int = 0
    annotations_per_category: dict[str, int] = field(default_factory=dict)
    skipped_unsupported_data: int = 0
    skipped_unsupported_shapes: int = 0
    skipped_unknown_objects: int = 0
    skipped_invalid_geometry: int = 0
    skipped_invalid_rows: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "label_rows": self.label_rows,
            "images": self.images,
            "annotations": self.annotations,
            "annotations_per_category": dict(self.annotations_per_category),
            "skipped_unsupported_data": self.skipped_unsupported_data,
            "skipped_unsupported_shapes": self.skipped_unsupported_shapes,
            "skipped_unknown_objects": self.skipped_unknown_objects,
            "skipped_invalid_geometry": self.skipped_invalid_geometry,
            "skipped_invalid_rows": self.skipped_invalid_rows,
        }


@dataclass(frozen=True)
class _Category:
    id: int
    name: str
    feature_hash: str
    shape: str
    keypoint_hashes: tuple[str, ...] = ()  # skeleton vertices, in template order
    keypoint_names: tuple[str, ...] = ()
    index: int = 0  # position in the converter's categories


def build_categories(ontology: Mapping[str, Any]) -> list[dict[str, Any]]:
    """COCO categories for the objects of an ontology, with stable ids from 1.

    Ids are Encord's own object ids (the ``id`` of each ontology object, a small integer that Encord
    never reuses) when they are all positive integers and distinct; otherwise objects are numbered from 1 in
    ontology order. Either way the same ontology always gives the same ids.

    :param ontology: the ontology structure as a dictionary (``objects``, ``classifications``,
        ``skeleton_templates``)
    :return: the COCO ``categories`` list
    """
    return CocoConverter(ontology).categories


def _categories(ontology: Mapping[str, Any]) -> list[_Category]:
    objects = list(ontology.get("objects") or [])
    ids: list[int] = []
    for obj in objects:
        raw = str(obj.get("id", ""))
        ids.append(int(raw) if raw.isdigit() else 0)
    if not objects or min(ids) < 1 or len(set(ids)) != len(ids):
        ids = list(range(1, len(objects) + 1))
    templates = _skeleton_templates(ontology)
    categories = []
    for category_id, obj in zip(ids, objects, strict=False):
        feature_hash = obj.get("featureNodeHash") or obj.get("feature_node_hash") or ""
        shape = obj.get("shape", "")
        hashes: tuple[str, ...] = ()
        names: tuple[str, ...] = ()
        if shape == "skeleton" and feature_hash in templates:
            vertices = templates[feature_hash]
            hashes = tuple(vertex[0] for vertex in vertices)
            names = tuple(vertex[1] for vertex in vertices)
        elif shape == "point":
            names = (obj.get("name", ""),)
        categories.append(
            _Category(
                id=category_id,
                name=obj.get("name", ""),
                feature_hash=feature_hash,
                shape=shape,
                keypoint_hashes=hashes,
                keypoint_names=names,
            )
        )
    return categories


def _skeleton_templates(ontology: Mapping[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """Skeleton object feature hash -> its vertices ``(feature hash, name)`` in template order."""
    result: dict[str, list[tuple[str, str]]] = {}
    for entry in ontology.get("skeleton_templates") or []:
        template = entry.get("template", entry)
        owner = template.get("feature_node_hash") or template.get("featureNodeHash")
        vertices = template.get("skeleton") or {}
        ordered = sorted(vertices.items(), key=lambda item: int(item[0]) if str(item[0]).isdigit() else 0)
        if owner:
            result[owner] = [
                (vertex.get("featureHash") or vertex.get("feature_hash") or "", vertex.get("name", ""))
                for _, vertex in ordered
            ]
    return result


def _skeleton_edges(ontology: Mapping[str, Any]) -> dict[str, list[list[int]]]:
    result: dict[str, list[list[int]]] = {}
    for entry in ontology.get("skeleton_templates") or []:
        template = entry.get("template", entry)
        owner = template.get("feature_node_hash") or template.get("featureNodeHash")
        edges = template.get("skeleton_edges") or template.get("skeletonEdges") or {}
        if owner:
            result[owner] = sorted(
                [int(start) + 1, int(end) + 1] for start, ends in edges.items() for end in ends
            )
    return result


def _category_dict(category: _Category, edges: Sequence[Sequence[int]] | None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "id": category.id,
        "name": category.name,
        "supercategory": category.shape,
        "encord_feature_hash": category.feature_hash,
        "encord_shape": category.shape,
    }
    if category.keypoint_names:
        result["keypoints"] = list(category.keypoint_names)
        result["skeleton"] = [list(edge) for edge in edges or []]
    return result


def _round(value: float) -> float:
    return _floor(value * _SCALE + 0.5) / _SCALE


#: ``n -> ["0", ..., str(n - 1)]``: the keys of a point dictionary of ``n`` points in order (the usual case).
_ORDERED_KEYS = [[str(i) for i in range(n)] for n in range(257)]


def _point_list(raw: Any) -> list[Any]:
    """Points of a polygon/polyline/skeleton, given as ``{"0": point, ...}`` or as a list."""
    if type(raw) is dict:
        keys = list(raw)
        if len(keys) <= 256 and keys == _ORDERED_KEYS[len(keys)]:
            return list(raw.values())
        return [raw[key] for key in sorted(keys, key=lambda k: int(k) if k.isdigit() else 0)]
    if isinstance(raw, list):
        return raw
    return []


def _ring_area(ring: Sequence[tuple[float, float]]) -> float:
    total = 0.0
    x_prev, y_prev = ring[-1]
    for x, y in ring:
        total += x_prev * y - x * y_prev
        x_prev, y_prev = x, y
    return abs(total) / 2.0


def _bbox_of(points: Iterable[tuple[float, float]]) -> list[float]:
    xs, ys = zip(*points, strict=False)
    return _bbox_of_xy(xs, ys)


def _bbox_of_xy(xs: Sequence[float], ys: Sequence[float]) -> list[float]:
    x0, y0 = min(xs), min(ys)
    return [
        _floor(x0 * _SCALE + 0.5) / _SCALE,
        _floor(y0 * _SCALE + 0.5) / _SCALE,
        _floor((max(xs) - x0) * _SCALE + 0.5) / _SCALE,
        _floor((max(ys) - y0) * _SCALE + 0.5) / _SCALE,
    ]


class CocoConverter:
    """Turns Encord label rows into COCO dictionaries, numbering images and annotations from 1.

    :param ontology: the ontology structure as a dictionary (``project.ontology_structure.to_dict()``)
    :param object_classes: keep only objects of these classes (ontology object names or feature hashes);
        ``None`` keeps all. Unknown names raise ``ValueError``.
    """

    def __init__(self, ontology: Mapping[str, Any], object_classes: Iterable[str] | None = None) -> None:
        categories = _categories(ontology)
        edges = _skeleton_edges(ontology)
        if object_classes is not None:
            wanted = {str(name) for name in object_classes}
            known = {c.name for c in categories} | {c.feature_hash for c in categories}
            unknown = sorted(wanted - known)
            if unknown:
                raise ValueError(
                    f"object_classes={sorted(wanted)!r} names {unknown!r}, which the ontology does not have. "
                    "Use object names or feature hashes from the ontology: "
                    f"{sorted(c.name for c in categories)!r}."
                )
            categories = [c for c in categories if c.name in wanted or c.feature_hash in wanted]
        categories = [dataclasses.replace(c, index=index) for index, c in enumerate(categories)]
        self._by_feature_hash = {c.feature_hash: c for c in categories}
        self._names = [c.name for c in categories]
        self._per_category = [0] * len(categories)
        self.categories = [_category_dict(c, edges.get(c.feature_hash)) for c in categories]
        self._stats = ConversionStats()
        self._next_image_id = 1
        self._next_annotation_id = 1
        self._empty_masks: dict[tuple[int, int], str] = {}

    @property
    def stats(self) -> ConversionStats:
        """What was converted and skipped so far."""
        per_category: dict[str, int] = {}
        for name, count in zip(self._names, self._per_category, strict=True):
            if count:
                per_category[name] = per_category.get(name, 0) + count
        self._stats.annotations = self._next_annotation_id - 1
        self._stats.annotations_per_category = per_category
        return self._stats

    @property
    def feature_hashes(self) -> set[str]:
        """Feature hashes of the object classes this converter keeps."""
        return set(self._by_feature_hash)

    def convert_label_row(
        self, row: LabelRow | Mapping[str, Any]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Convert one label row.

        :param row: the label row: its JSON as a dictionary (``data_units``, ``object_answers``, ..., as the
            ``labelrow`` call returns it or ``LabelRowV2.to_encord_dict()`` gives it), or a decoded
            :class:`~airflow_provider_encord.coco._schema.LabelRow`
        :return: the COCO images and annotations of this row
        """
        decoded = row if type(row) is LabelRow else label_row(row)
        if decoded is None:
            self._stats.skipped_invalid_rows += 1
            return [], []
        row = decoded
        data_type = str(row.data_type or "").lower()
        by_frame = data_type in FRAME_DATA_TYPES
        if not by_frame and data_type not in IMAGE_DATA_TYPES:
            self._stats.skipped_unsupported_data += 1
            return [], []
        self._stats.label_rows += 1
        object_answers = row.object_answers or {}
        units = list((row.data_units or {}).values())
        if len(units) > 1:
            units.sort(key=lambda unit: int(unit.data_sequence or 0))
        labelled = [(unit, frame_labels(unit, by_frame)) for unit in units]
        frame_classifications, global_classifications = self._classifications(row, labelled, by_frame)
        images: list[dict[str, Any]] = []
        annotations: list[dict[str, Any]] = []
        for unit, labels in labelled:
            width = int(unit.width or 0)
            height = int(unit.height or 0)
            title = str(unit.data_title or unit.data_hash)
            if by_frame:
                frame_numbers = {int(key) for key in labels if key.isdigit()} | set(frame_classifications)
                frames = [
                    (frame, labels.get(str(frame)) or _NO_LABELS, f"{title}/{frame:06d}.jpg")
                    for frame in sorted(frame_numbers)
                ]
            else:
                frames = [(int(unit.data_sequence or 0), labels, title)]
            for frame, on_frame, file_name in frames:
                image = self._image(row, unit, frame, file_name, width, height)
                classifications = frame_classifications.get(frame, []) + global_classifications
                if on_frame.classifications:
                    classifications += self._inline_classifications(
                        on_frame, row, frame_classifications, frame
                    )
                if classifications:
                    image["encord_classifications"] = classifications
                images.append(image)
                image_id = image["id"]
                for obj in on_frame.objects or ():
                    annotation = self._annotation(obj, image_id, width, height, object_answers)
                    if annotation is not None:
                        annotations.append(annotation)
        return images, annotations

    # -- images and classifications ------------------------------------------------------------------------

    def _image(
        self,
        row: LabelRow,
        unit: DataUnit,
        frame: int,
        file_name: str,
        width: int,
        height: int,
    ) -> dict[str, Any]:
        image: dict[str, Any] = {
            "id": self._next_image_id,
            "file_name": file_name,
            "width": width,
            "height": height,
            "encord_label_hash": row.label_hash,
            "encord_data_hash": unit.data_hash,
            "encord_frame": frame,
        }
        link = unit.data_link
        if isinstance(link, str) and "://" in link:
            image["coco_url"] = link
        self._next_image_id += 1
        self._stats.images += 1
        return image

    @staticmethod
    def _classification_entry(answer: ClassificationAnswer) -> dict[str, Any]:
        attributes = answer.classifications or []
        return {
            "classification_hash": answer.classificationHash,
            "feature_hash": answer.featureHash,
            "name": attributes[0].name if attributes else None,
            "answers": [_answer_entry(attribute) for attribute in attributes],
        }

    def _classifications(
        self, row: LabelRow, labelled: list[tuple[DataUnit, Any]], by_frame: bool
    ) -> tuple[dict[int, list[dict[str, Any]]], list[dict[str, Any]]]:
        """Frame -> classifications placed on that frame, and the classifications of the whole row."""
        by_frame_number: dict[int, list[dict[str, Any]]] = {}
        whole_row: list[dict[str, Any]] = []
        answers = row.classification_answers
        if not answers:
            return by_frame_number, whole_row
        placed_inline: set[Any] | None = None  # built only if an answer has no range (rare)
        for answer in answers.values():
            entry = self._classification_entry(answer)
            ranges = answer.range
            if ranges:
                for first, last in ranges:
                    for frame in range(int(first), int(last) + 1):
                        by_frame_number.setdefault(frame, []).append(entry)
                continue
            if placed_inline is None:
                placed_inline = {
                    classification.classificationHash
                    for _, labels in labelled
                    for frame in (labels.values() if by_frame else (labels,))
                    for classification in frame.classifications or ()
                }
            if answer.classificationHash not in placed_inline:
                whole_row.append({**entry, "global": True})
        return by_frame_number, whole_row

    def _inline_classifications(
        self,
        frame_labels: FrameLabels,
        row: LabelRow,
        frame_classifications: Mapping[int, list[dict[str, Any]]],
        frame: int,
    ) -> list[dict[str, Any]]:
        """Classifications listed in a frame's labels (older label rows) and not placed there by a range."""
        placed = frame_classifications.get(frame, ())
        answers = row.classification_answers or {}
        result = []
        for classification in frame_labels.classifications or ():
            classification_hash = classification.classificationHash
            for entry in placed:  # a loop, not any(): most frames have one placed classification
                if entry["classification_hash"] == classification_hash:
                    break
            else:
                answer = answers.get(classification_hash) or ClassificationAnswer(
                    classificationHash=classification_hash, featureHash=classification.featureHash
                )
                result.append(self._classification_entry(answer))
        return result

    # -- annotations -----------------------------------------------------------------------------------------

    def _annotation(
        self,
        obj: LabelObject,
        image_id: int,
        width: int,
        height: int,
        object_answers: Mapping[str, ObjectAnswer],
    ) -> dict[str, Any] | None:
        category = self._by_feature_hash.get(obj.featureHash)
        if category is None:
            self._stats.skipped_unknown_objects += 1
            return None
        converter = _SHAPES.get(obj.shape or category.shape)
        if converter is None:
            self._stats.skipped_unsupported_shapes += 1
            return None
        annotation: dict[str, Any] = {
            "id": self._next_annotation_id,
            "image_id": image_id,
            "category_id": category.id,
            "iscrowd": 0,
        }
        try:
            # The shape adds its geometry (bbox, area, segmentation, ...) to the annotation.
            valid = not obj.invalid and converter(self, obj, category, width, height, annotation)
        except (
            AttributeError,  # the shape's geometry is missing (None)
            KeyError,
            TypeError,
            ValueError,
            IndexError,
            ZeroDivisionError,
            OverflowError,
        ):
            valid = False
        if not valid:
            self._stats.skipped_invalid_geometry += 1
            return None
        object_hash = obj.objectHash
        annotation["encord_object_hash"] = object_hash
        annotation["encord_feature_hash"] = category.feature_hash
        if object_hash:
            answer = object_answers.get(object_hash)
            if answer is not None and answer.classifications:
                annotation["encord_attributes"] = [_answer_entry(a) for a in answer.classifications]
        self._next_annotation_id += 1
        self._per_category[category.index] += 1
        return annotation

    def _empty_mask(self, width: int, height: int) -> dict[str, Any]:
        """An all-background RLE: the segmentation of shapes without area, valid for every COCO tool."""
        key = (height, width)
        counts = self._empty_masks.get(key)
        if counts is None:
            counts = self._empty_masks[key] = encode_counts([height * width])
        return {"size": [height, width], "counts": counts}

    # Each shape adds its geometry to ``annotation`` (``bbox``, ``area``, ``segmentation`` and what else the
    # shape has) and returns True, or returns None for geometry that cannot be converted.

    def _bounding_box(self, obj: LabelObject, category: _Category, width: int, height: int, annotation: dict):
        box = obj.boundingBox
        x, y, w, h = box.x * width, box.y * height, box.w * width, box.h * height
        x0 = _floor(x * _SCALE + 0.5) / _SCALE
        y0 = _floor(y * _SCALE + 0.5) / _SCALE
        x1 = _floor((x + w) * _SCALE + 0.5) / _SCALE
        y1 = _floor((y + h) * _SCALE + 0.5) / _SCALE
        annotation["bbox"] = [x0, y0, _floor(w * _SCALE + 0.5) / _SCALE, _floor(h * _SCALE + 0.5) / _SCALE]
        annotation["area"] = _floor(w * h * _SCALE + 0.5) / _SCALE
        annotation["segmentation"] = [[x0, y0, x1, y0, x1, y1, x0, y1]]
        return True

    def _rotatable_box(
        self, obj: LabelObject, category: _Category, width: int, height: int, annotation: dict
    ):
        box = obj.rotatableBoundingBox
        x, y, w, h = box.x * width, box.y * height, box.w * width, box.h * height
        theta = float(box.theta or 0.0)
        corners = rotated_box_corners(x, y, w, h, theta)
        annotation["bbox"] = [_round(x), _round(y), _round(w), _round(h)]
        annotation["area"] = _round(w * h)
        annotation["segmentation"] = [[_round(value) for corner in corners for value in corner]]
        annotation["encord_rotation"] = theta
        return True

    def _polygon(self, obj: LabelObject, category: _Category, width: int, height: int, annotation: dict):
        raw_polygons = obj.polygons
        if not raw_polygons:
            return _simple_polygon(_point_list(obj.polygon), width, height, annotation)
        polygons = [
            [
                [(ring[i] * width, ring[i + 1] * height) for i in range(0, len(ring) - 1, 2)]
                for ring in polygon
            ]
            for polygon in raw_polygons
        ]
        polygons = [[ring for ring in rings if len(ring) >= 3] for rings in polygons]
        polygons = [rings for rings in polygons if rings]
        if not polygons:
            return None
        area = sum(_ring_area(rings[0]) - sum(_ring_area(hole) for hole in rings[1:]) for rings in polygons)
        annotation["bbox"] = _bbox_of(point for rings in polygons for point in rings[0])
        annotation["area"] = _round(area)
        if any(len(rings) > 1 for rings in polygons):
            mask = rasterise_polygons(polygons, height=height, width=width)
            counts = column_major_counts(mask, height=height, width=width)
            annotation["segmentation"] = {"size": [height, width], "counts": encode_counts(counts)}
            annotation["encord_polygons"] = [
                [[_round(value) for point in ring for value in point] for ring in rings] for rings in polygons
            ]
        else:
            annotation["segmentation"] = [
                [_round(value) for point in rings[0] for value in point] for rings in polygons
            ]
        return True

    def _polyline(self, obj: LabelObject, category: _Category, width: int, height: int, annotation: dict):
        points = [(p.x * width, p.y * height) for p in _point_list(obj.polyline)]
        if len(points) < 2:
            return None
        annotation["bbox"] = _bbox_of(points)
        annotation["area"] = 0.0
        annotation["segmentation"] = self._empty_mask(width, height)
        annotation["encord_polyline"] = [_round(value) for point in points for value in point]
        return True

    def _point(self, obj: LabelObject, category: _Category, width: int, height: int, annotation: dict):
        raw = obj.point
        point = raw["0"] if type(raw) is dict else raw[0]
        x = _floor(point.x * width * _SCALE + 0.5) / _SCALE
        y = _floor(point.y * height * _SCALE + 0.5) / _SCALE
        annotation["bbox"] = [x, y, 0.0, 0.0]
        annotation["area"] = 0.0
        annotation["segmentation"] = self._empty_mask(width, height)
        annotation["keypoints"] = [x, y, 2]
        annotation["num_keypoints"] = 1
        return True

    def _skeleton(self, obj: LabelObject, category: _Category, width: int, height: int, annotation: dict):
        vertices = _point_list(obj.skeleton)
        if not vertices:
            return None
        order = {feature_hash: index for index, feature_hash in enumerate(category.keypoint_hashes)}
        names = {name: index for index, name in enumerate(category.keypoint_names)}
        size = len(category.keypoint_hashes) or len(vertices)
        keypoints: list[float] = [0] * (3 * size)
        for position, vertex in enumerate(vertices):
            index = order.get(vertex.featureHash, names.get(vertex.name, position))
            if index >= size:
                continue
            visibility = _VISIBILITY.get(str(vertex.visibility or "visible"), 2)
            if visibility:
                keypoints[3 * index : 3 * index + 3] = [
                    _round(vertex.x * width),
                    _round(vertex.y * height),
                    visibility,
                ]
        shown = [(keypoints[i], keypoints[i + 1]) for i in range(0, len(keypoints), 3) if keypoints[i + 2]]
        bbox = _bbox_of(shown) if shown else [0.0, 0.0, 0.0, 0.0]
        annotation["bbox"] = bbox
        annotation["area"] = _round(bbox[2] * bbox[3])
        annotation["segmentation"] = self._empty_mask(width, height)
        annotation["keypoints"] = keypoints
        annotation["num_keypoints"] = len(shown)
        return True

    def _bitmask(self, obj: LabelObject, category: _Category, width: int, height: int, annotation: dict):
        bitmask = obj.bitmask
        mask_width = int(bitmask.width or width)
        rows = row_intervals_from_row_major_counts(
            decode_counts(bitmask.rleString),
            mask_width=mask_width,
            top=int(bitmask.top or 0),
            left=int(bitmask.left or 0),
            image_width=width,
            image_height=height,
        )
        area, bbox = mask_extent(rows)
        counts = column_major_counts(rows, height=height, width=width)
        annotation["bbox"] = bbox
        annotation["area"] = area
        annotation["segmentation"] = {"size": [height, width], "counts": encode_counts(counts)}
        annotation["iscrowd"] = 1
        return True


def _simple_polygon(points: list[Point], width: int, height: int, annotation: dict) -> bool | None:
    """One ring given as ``polygon`` points: what the ``polygons`` case gives for a single ring."""
    if len(points) < 3:
        return None
    # One pass over the ring (a polygon has a handful of points, so one loop costs less than several list
    # comprehensions): pixel coordinates, their rounded values and the shoelace sum.
    xs: list[float] = []
    ys: list[float] = []
    flat: list[float] = []
    last = points[-1]
    x_prev, y_prev = last.x * width, last.y * height
    twice_area = 0.0
    for point in points:
        x = point.x * width
        y = point.y * height
        twice_area += x_prev * y - x * y_prev
        x_prev = x
        y_prev = y
        xs.append(x)
        ys.append(y)
        flat.append(_floor(x * _SCALE + 0.5) / _SCALE)
        flat.append(_floor(y * _SCALE + 0.5) / _SCALE)
    annotation["bbox"] = _bbox_of_xy(xs, ys)
    annotation["area"] = _round(abs(twice_area) / 2.0)
    annotation["segmentation"] = [flat]
    return True


_SHAPES = {
    "bounding_box": CocoConverter._bounding_box,
    "rotatable_bounding_box": CocoConverter._rotatable_box,
    "polygon": CocoConverter._polygon,
    "polyline": CocoConverter._polyline,
    "point": CocoConverter._point,
    "skeleton": CocoConverter._skeleton,
    "bitmask": CocoConverter._bitmask,
}


def rotated_box_corners(x: float, y: float, w: float, h: float, theta: float) -> list[tuple[float, float]]:
    """Corners of a box ``x, y, w, h`` (pixels, before rotation) turned by ``theta`` degrees about its centre.

    The angle is clockwise on screen (y pointing down), as Encord draws it. Corners come in the order
    top-left, top-right, bottom-right, bottom-left of the unrotated box.
    """
    cx, cy = x + w / 2.0, y + h / 2.0
    cos, sin = math.cos(math.radians(theta)), math.sin(math.radians(theta))
    corners = []
    for dx, dy in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)):
        corners.append((cx + dx * cos - dy * sin, cy + dx * sin + dy * cos))
    return corners


def _answer_entry(attribute: Attribute) -> dict[str, Any]:
    return {"name": attribute.name, "feature_hash": attribute.featureHash, "answers": attribute.answers}
