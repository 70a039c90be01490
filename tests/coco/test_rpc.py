"""Reading a long RPC answer a window at a time: the windows end exactly after an item of the list."""

from __future__ import annotations

import io
import random

import msgspec
import orjson
import pytest
from encord.exceptions import RequestException

from airflow_provider_encord.coco import _rpc, write_coco
from airflow_provider_encord.coco._rpc import _ListSplitter

#: Items whose bytes contain what a window end looks for, in strings and in nested lists.
AWKWARD = [
    {"label_hash": "a", "data_title": "},{"},
    {"label_hash": "b", "data_title": 'x"},{"y', "nested": [{"p": 1}, {"q": [{"r": "}, {"}]}]},
    {"label_hash": "c", "spaces": {}, "node": {"uuid": "u", "title": "T"}},
    {"label_hash": "d", "data_title": "\\\\},{\\\\", "empty": [{}, {}]},
    {"label_hash": "e", "unicode": "caf\u00e9 \u2603 }\n,\t{"},
]


def split(document: bytes, window: int, chunk: int, monkeypatch, **kwargs) -> tuple[list, dict, int]:
    """Feed ``document`` in chunks; the items taken out, the final envelope and how many windows cut."""
    monkeypatch.setattr(_rpc, "WINDOW", window)
    splitter = _ListSplitter(**kwargs)
    taken: list = []
    windows = 0
    for start in range(0, len(document), chunk):
        items = splitter.feed(document[start : start + chunk])
        windows += bool(items)
        taken += items
    return taken, splitter.finish(), windows


@pytest.mark.parametrize("window", [1, 7, 64, 256, 4096, 1 << 20])
@pytest.mark.parametrize("chunk", [1, 5, 100, 1 << 16])
@pytest.mark.parametrize("indent", [False, True])
def test_every_item_comes_out_once_in_order(window, chunk, indent, monkeypatch):
    rng = random.Random(window * 31 + chunk)
    items = [dict(AWKWARD[rng.randrange(len(AWKWARD))], index=i) for i in range(40)]
    envelope = {"status": 200, "response": items, "payload": {"after": [{"x": 1}, {"y": 2}]}}
    document = orjson.dumps(envelope, option=orjson.OPT_INDENT_2 if indent else 0)
    taken, rest, windows = split(document, window, chunk, monkeypatch)
    assert taken + rest["response"] == items
    assert rest["status"] == 200 and rest["payload"] == envelope["payload"]
    if window <= 256 and chunk <= 100:
        assert windows > 1  # really cut into windows, not parsed whole at the end


class Item(msgspec.Struct):
    label_hash: object = None
    index: object = None


@pytest.mark.parametrize("window", [1, 64, 4096])
@pytest.mark.parametrize("chunk", [1, 100])
def test_windows_decoded_into_structs_keep_every_item_in_order(window, chunk, monkeypatch):
    # As the listing is read: each window into structs of a few fields, the rest of each item skipped.
    rng = random.Random(window + chunk)
    items = [dict(AWKWARD[rng.randrange(len(AWKWARD))], index=i) for i in range(40)]
    document = orjson.dumps({"status": 200, "response": items})
    decode = msgspec.json.Decoder(list[Item]).decode
    taken, rest, windows = split(document, window, chunk, monkeypatch, decode=decode)
    assert all(type(item) is Item for item in taken)
    assert [(i.label_hash, i.index) for i in taken] + [
        (i["label_hash"], i["index"]) for i in rest["response"]
    ] == [(i["label_hash"], i["index"]) for i in items]
    if window <= 64:
        assert windows > 1


def test_a_window_with_an_item_that_is_not_an_object_is_left_for_the_envelope(monkeypatch):
    # The window before "c" is valid JSON that a struct decoder rejects: its items stay in the envelope,
    # where the export reports the answer as one it cannot parse.
    response = [{"label_hash": "a"}, "oops", {"label_hash": "b"}, {"label_hash": "c"}]
    document = orjson.dumps({"status": 200, "response": response})
    decode = msgspec.json.Decoder(list[Item]).decode
    taken, rest, _ = split(document, 1, 3, monkeypatch, decode=decode)
    assert taken == []
    assert rest["response"] == response
    # The same window parses as plain JSON, so the check above is the struct decoder's.
    taken, _, _ = split(document, 1, 3, monkeypatch)
    assert taken == response[:3]


def test_the_response_list_may_come_first(monkeypatch):
    items = [{"label_hash": str(i), "t": "},{" * i} for i in range(30)]
    document = orjson.dumps({"response": items, "status": 200})
    taken, rest, windows = split(document, 50, 10, monkeypatch)
    assert windows > 1
    assert taken + rest["response"] == items and rest["status"] == 200


def test_an_error_envelope_is_left_whole(monkeypatch):
    document = orjson.dumps({"status": 404, "response": ["RESOURCE_NOT_FOUND_ERROR"], "payload": None})
    taken, rest, _ = split(document, 1, 3, monkeypatch)
    assert taken == []
    assert rest == {"status": 404, "response": ["RESOURCE_NOT_FOUND_ERROR"], "payload": None}


def test_an_answer_without_a_response_list_parses_whole(monkeypatch):
    document = orjson.dumps({"status": 500, "message": "no list here"})
    taken, rest, _ = split(document, 1, 4, monkeypatch)
    assert taken == [] and rest["message"] == "no list here"


def test_a_cut_off_answer_does_not_parse(monkeypatch):
    document = orjson.dumps({"status": 200, "response": [{"a": i} for i in range(50)]})
    with pytest.raises(orjson.JSONDecodeError):
        split(document[: len(document) // 2], 16, 8, monkeypatch)


def test_a_listing_read_in_many_windows_exports_every_row_in_order(scale_project, monkeypatch):
    _, project = scale_project
    whole = io.BytesIO()
    write_coco(project, whole, bundle_size=25)
    monkeypatch.setattr(_rpc, "WINDOW", 3000)  # a few rows of the listing per window
    monkeypatch.setattr(_rpc, "CHUNK_SIZE", 1000)
    windowed = io.BytesIO()
    counts = write_coco(project, windowed, bundle_size=25)
    assert counts["label_rows_listed"] == counts["images"] == 60
    first, second = orjson.loads(whole.getvalue()), orjson.loads(windowed.getvalue())
    first["info"].pop("date_created"), second["info"].pop("date_created")
    assert first == second
    assert [image["file_name"] for image in second["images"]] == [f"scale_{i:07d}.jpg" for i in range(60)]


@pytest.mark.parametrize("route", ["rpc:labelrowmetadata:GET", "rpc:labelrow:GET"])
def test_an_answer_cut_off_by_the_server_raises_the_sdk_error(scale_project, route):
    emulator, project = scale_project
    emulator.add_fault(route, "truncate", times=1)
    with pytest.raises(RequestException):
        write_coco(project, io.BytesIO(), bundle_size=25)
    # Two bundle reads run at once, so the cut-off request need not be the first one logged.
    assert [r.fault for r in emulator.requests if r.route == route].count("truncate") == 1
    assert write_coco(project, io.BytesIO(), bundle_size=25)["images"] == 60
