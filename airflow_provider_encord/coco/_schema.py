"""The parts of Encord's label row JSON the COCO converter reads, as ``msgspec`` structs.

A label row bundle is mostly what the converter never looks at: each object's colour, value, creation and
edit times and authors, confidence, reviews. Decoding into these structs skips those fields without building
them, and the structs themselves are cheaper to build, read and free than dictionaries (and, holding only
numbers, strings and other structs, are left out of the cyclic garbage collector): at 16 000 images, decoding
and freeing the bundles takes less than half the time ``orjson`` into dictionaries does.

Decoding is lenient where Encord's data may vary (identifiers, titles and sizes take any JSON value; numbers
may come as strings) and strict where a wrong value would be converted wrongly (a point needs ``x`` and
``y``). A data unit's ``labels`` stay raw until the row's data type says whether they are one image's
labels or labels by frame (:func:`frame_labels`). What does not decode falls back to plain JSON a level
down, so that one malformed object is skipped and counted, not the bundle it came in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
import orjson

#: JSON of an empty object, the ``labels`` of a data unit without any.
_EMPTY = msgspec.Raw(b"{}")


class Point(msgspec.Struct, gc=False):
    x: float
    y: float


class Box(msgspec.Struct, gc=False):
    x: float
    y: float
    w: float
    h: float


class RotatableBox(msgspec.Struct, gc=False):
    x: float
    y: float
    w: float
    h: float
    theta: float | None = None


class Vertex(msgspec.Struct, gc=False):
    """A skeleton vertex; invisible ones may come without coordinates."""

    x: float | None = None
    y: float | None = None
    name: Any = None
    featureHash: Any = None
    visibility: Any = None


class Bitmask(msgspec.Struct, gc=False):
    rleString: str
    width: Any = None
    height: Any = None
    top: Any = None
    left: Any = None


#: Points of a polygon, polyline or point: ``{"0": {x, y}, ...}`` or a list.
Points = dict[str, Point] | list[Point] | None


class LabelObject(msgspec.Struct, gc=False):
    """One object instance on a frame, with the geometry of its shape."""

    featureHash: Any = None
    shape: Any = None
    objectHash: Any = None
    boundingBox: Box | None = None
    rotatableBoundingBox: RotatableBox | None = None
    polygon: Points = None
    polygons: list[list[list[float]]] | None = None
    polyline: Points = None
    point: Points = None
    skeleton: dict[str, Vertex] | list[Vertex] | None = None
    bitmask: Bitmask | None = None
    #: set on objects whose geometry did not decode (see :func:`frame_labels`)
    invalid: bool = False


class InlineClassification(msgspec.Struct, gc=False):
    classificationHash: Any = None
    featureHash: Any = None


class FrameLabels(msgspec.Struct, gc=False):
    """The labels of one image or one frame."""

    objects: list[LabelObject] | None = None
    classifications: list[InlineClassification] | None = None


class Attribute(msgspec.Struct, gc=False):
    """An answered attribute of an object or a classification."""

    name: Any = None
    featureHash: Any = None
    answers: Any = None


class ObjectAnswer(msgspec.Struct, gc=False):
    classifications: list[Attribute] | None = None


class ClassificationAnswer(msgspec.Struct, gc=False):
    classificationHash: Any = None
    featureHash: Any = None
    classifications: list[Attribute] | None = None
    range: Any = None


class DataUnit(msgspec.Struct, gc=False):
    data_hash: Any = None
    data_title: Any = None
    data_sequence: Any = None
    data_link: Any = None
    width: Any = None
    height: Any = None
    labels: msgspec.Raw = _EMPTY


class LabelRow(msgspec.Struct, gc=False):
    label_hash: Any = None
    data_type: Any = None
    data_units: dict[str, DataUnit] | None = None
    object_answers: dict[str, ObjectAnswer] | None = None
    classification_answers: dict[str, ClassificationAnswer] | None = None


class ListedRow(msgspec.Struct, gc=False):
    """The fields of one ``labelrowmetadata`` entry the export uses (the other twenty are skipped)."""

    label_hash: Any = None
    label_status: Any = None
    workflow_graph_node: Any = None
    last_edited_at: Any = None

    @property
    def stage_uuid(self) -> Any:
        node = self.workflow_graph_node
        return node.get("uuid") if isinstance(node, dict) else None

    @property
    def stage_title(self) -> Any:
        node = self.workflow_graph_node
        return node.get("title") if isinstance(node, dict) else None


class _Bundle(msgspec.Struct):
    """An RPC answer to a ``labelrow`` read: the envelope and its label rows."""

    status: Any = None
    response: list[LabelRow] = []


_BUNDLE = msgspec.json.Decoder(_Bundle, strict=False)
_ROW = msgspec.json.Decoder(LabelRow, strict=False)
_IMAGE_LABELS = msgspec.json.Decoder(FrameLabels, strict=False)
_LABELS_BY_FRAME = msgspec.json.Decoder(dict[str, FrameLabels], strict=False)
_ENCODER = msgspec.json.Encoder()


def decode_bundle(content: bytes) -> list[LabelRow] | None:
    """The label rows of a ``labelrow`` answer; ``None`` when it is not a successful answer of that form."""
    try:
        bundle = _BUNDLE.decode(content)
    except msgspec.MsgspecError:
        return None
    return bundle.response if bundle.status == 200 else None


def label_row(row: LabelRow | Mapping[str, Any]) -> LabelRow | None:
    """A label row as a struct: from a dictionary (the JSON, or ``LabelRowV2.to_encord_dict()``), or as is.

    ``None`` when the row is not a label row at all (such as ``data_units`` that are not objects).
    """
    if isinstance(row, LabelRow):
        return row
    try:
        return _ROW.decode(_ENCODER.encode(row))
    except (msgspec.MsgspecError, TypeError):
        return None


def frame_labels(unit: DataUnit, by_frame: bool) -> Any:
    """A data unit's labels: :class:`FrameLabels` of an image, or frame number (text) -> :class:`FrameLabels`.

    Labels that do not decode as a whole are decoded object by object; an object whose geometry does not
    decode is kept with ``invalid`` set (and no geometry), so that the converter skips and counts it.
    """
    raw = unit.labels
    try:
        return (_LABELS_BY_FRAME if by_frame else _IMAGE_LABELS).decode(raw)
    except msgspec.MsgspecError:
        pass
    try:
        plain = orjson.loads(bytes(raw))
    except orjson.JSONDecodeError:
        plain = None
    if not isinstance(plain, dict):
        return {} if by_frame else FrameLabels()
    if by_frame:
        return {key: _lenient_frame(value) for key, value in plain.items() if isinstance(value, dict)}
    return _lenient_frame(plain)


def _lenient_frame(plain: Mapping[str, Any]) -> FrameLabels:
    objects = plain.get("objects")
    classifications = plain.get("classifications")
    return FrameLabels(
        objects=[_lenient_object(o) for o in objects if isinstance(o, dict)]
        if isinstance(objects, list)
        else None,
        classifications=[
            InlineClassification(c.get("classificationHash"), c.get("featureHash"))
            for c in classifications
            if isinstance(c, dict)
        ]
        if isinstance(classifications, list)
        else None,
    )


def _lenient_object(plain: Mapping[str, Any]) -> LabelObject:
    try:
        return msgspec.convert(plain, LabelObject, strict=False)
    except msgspec.MsgspecError:
        return LabelObject(
            featureHash=plain.get("featureHash"),
            shape=plain.get("shape"),
            objectHash=plain.get("objectHash"),
            invalid=True,
        )
