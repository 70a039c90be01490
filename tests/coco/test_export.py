"""The export against the emulator: the real SDK over HTTP, read-only requests, bundles, filters."""

from __future__ import annotations

import datetime
import io
import threading

import orjson
import pytest
from encord import EncordUserClient
from encord.http.constants import RequestsSettings
from encord.objects.coordinates import BoundingBoxCoordinates
from pycocotools.coco import COCO

from airflow_provider_encord._defaults import DEFAULT_BUNDLE_SIZE
from airflow_provider_encord.coco import export_coco_dict, write_coco
from airflow_provider_encord.coco.export import PREFETCH_BUNDLES, READERS, _label_rows

FAST = RequestsSettings(
    max_retries=1, backoff_factor=0.0, connection_retries=0, connect_timeout=5, read_timeout=30
)


@pytest.fixture
def client(encord_emulator) -> EncordUserClient:
    return EncordUserClient.create_with_ssh_private_key(
        encord_emulator.private_key, domain=encord_emulator.url, requests_settings=FAST
    )


@pytest.fixture
def project(client, encord_emulator):
    project = client.get_project(encord_emulator.ids["project_hash"])
    encord_emulator.clear_requests()
    return project


def label_row_calls(emulator):
    return [r for r in emulator.requests if r.query_type in ("labelrow", "labelrowmetadata")]


def labelled_hashes(project, **filters):
    """What the SDK itself lists for the same filters (rows that have labels)."""
    return {row.label_hash for row in project.list_label_rows_v2(**filters) if row.label_hash is not None}


def test_export_reads_in_bundles_and_never_writes_label_rows(project, encord_emulator, tmp_path):
    out = io.BytesIO()
    counts = write_coco(project, out, bundle_size=3)

    calls = label_row_calls(encord_emulator)
    assert [(c.query_type, c.query_method) for c in calls] == [("labelrowmetadata", "GET")] + [
        ("labelrow", "GET")
    ] * 4
    bundles = [c.body["values"]["uid"] for c in calls[1:]]
    assert sorted(len(b) for b in bundles) == [1, 3, 3, 3], "two reads at once may arrive in either order"
    assert sorted(h for b in bundles for h in b) == sorted(labelled_hashes(project))
    assert all(c.status == 200 for c in calls)
    assert not [r for r in encord_emulator.requests if r.query_method in ("PUT", "POST")]
    assert encord_emulator.store.label_row_writes == []

    assert counts["skipped_unlabelled"] == 2
    assert counts["label_rows"] == counts["images"] == 10
    assert counts["label_row_requests"] == 4
    assert counts["categories"] == 3
    assert sum(counts["annotations_per_category"].values()) == counts["annotations"] > 0

    path = tmp_path / "coco.json"
    path.write_bytes(out.getvalue())
    coco = COCO(str(path))
    assert sorted(coco.getAnnIds()) == list(range(1, counts["annotations"] + 1))
    exported = {image["encord_label_hash"] for image in coco.dataset["images"]}
    assert exported == labelled_hashes(project)


def test_the_sdk_path_the_export_avoids_does_create_label_rows(project, encord_emulator):
    """The check above can fail: initialising an unlabelled row through the SDK sends a labelrow PUT."""
    rows = [row for row in project.list_label_rows_v2() if row.label_hash is None]
    assert rows
    with project.create_bundle() as bundle:
        for row in rows:
            row.initialise_labels(bundle=bundle)
    assert [r.query_method for r in encord_emulator.requests if r.query_type == "labelrow"] == ["PUT"]
    assert encord_emulator.store.label_row_writes


def test_bounding_boxes_match_the_sdk_view_of_the_labels(project):
    document = export_coco_dict(project, object_classes=["Car"])
    images = {image["id"]: image for image in document["images"]}
    expected = {}
    rows = [row for row in project.list_label_rows_v2() if row.label_hash is not None]
    with project.create_bundle() as bundle:
        for row in rows:
            row.initialise_labels(bundle=bundle)
    for row in rows:
        for instance in row.get_object_instances():
            coordinates = instance.get_annotations()[0].coordinates
            if isinstance(coordinates, BoundingBoxCoordinates):
                width, height = row.width, row.height
                expected[instance.object_hash] = [
                    coordinates.top_left_x * width,
                    coordinates.top_left_y * height,
                    coordinates.width * width,
                    coordinates.height * height,
                ]
    assert document["categories"] == [
        {
            "id": 1,
            "name": "Car",
            "supercategory": "bounding_box",
            "encord_feature_hash": document["categories"][0]["encord_feature_hash"],
            "encord_shape": "bounding_box",
        }
    ]
    assert {a["encord_object_hash"] for a in document["annotations"]} == set(expected)
    for annotation in document["annotations"]:
        assert annotation["category_id"] == 1
        assert annotation["bbox"] == pytest.approx(expected[annotation["encord_object_hash"]], abs=0.01)
        image = images[annotation["image_id"]]
        assert image["width"] > 0 and image["height"] > 0


def test_workflow_stage_filter_by_title_and_by_uuid(project, encord_emulator):
    review = labelled_hashes(project, workflow_graph_node_title_eq="Review")
    assert review
    by_title = export_coco_dict(project, workflow_stage="Review")
    by_uuid = export_coco_dict(project, workflow_stage=encord_emulator.ids["stages"]["Review"])
    assert {image["encord_label_hash"] for image in by_title["images"]} == review
    assert {image["encord_label_hash"] for image in by_uuid["images"]} == review
    listing = next(r for r in encord_emulator.requests if r.query_type == "labelrowmetadata")
    assert listing.body["values"]["payload"]["workflow_graph_node_title_eq"] == "Review"


def test_label_hash_filter_exports_only_those_rows(project):
    wanted = sorted(labelled_hashes(project))[:3]
    document = export_coco_dict(project, label_hashes=wanted)
    assert sorted(image["encord_label_hash"] for image in document["images"]) == wanted


def test_edited_after_exports_only_rows_changed_since(project, encord_emulator):
    import pendulum

    rows = [row for row in project.list_label_rows_v2() if row.label_hash is not None]
    times = sorted(row.last_edited_at for row in rows)
    cutoff = times[len(times) // 2]  # a DAG's data_interval_start: rows edited at or after it are exported
    changed = {row.label_hash for row in rows if row.last_edited_at >= cutoff}
    assert 0 < len(changed) < len(rows)
    assert labelled_hashes(project, edited_after=cutoff) == changed
    encord_emulator.clear_requests()
    for value in (cutoff, cutoff.isoformat(), pendulum.instance(cutoff)):
        document = export_coco_dict(project, edited_after=value)
        assert {image["encord_label_hash"] for image in document["images"]} == changed
    listing = next(r for r in encord_emulator.requests if r.query_type == "labelrowmetadata")
    assert listing.body["values"]["payload"]["edited_after"].startswith(cutoff.strftime("%Y-%m-%dT%H:%M"))
    assert export_coco_dict(project, edited_after=datetime.datetime(2999, 1, 1))["images"] == []


def test_an_interval_exports_the_rows_edited_inside_it(project, encord_emulator):
    rows = [row for row in project.list_label_rows_v2() if row.label_hash is not None]
    times = sorted({row.last_edited_at for row in rows})
    assert len(times) >= 3
    start, end = times[1], times[-1]  # [start, end): a daily run's data interval
    inside = {row.label_hash for row in rows if start <= row.last_edited_at < end}
    assert 0 < len(inside) < len(rows)
    encord_emulator.clear_requests()
    document = export_coco_dict(project, edited_after=start, edited_before=end.isoformat())
    assert {image["encord_label_hash"] for image in document["images"]} == inside
    listing = next(r for r in encord_emulator.requests if r.query_type == "labelrowmetadata")
    assert listing.body["values"]["payload"]["edited_before"].startswith(end.strftime("%Y-%m-%dT%H:%M"))
    earlier = export_coco_dict(project, edited_after=times[0], edited_before=start)
    assert {image["encord_label_hash"] for image in earlier["images"]}.isdisjoint(inside)


def test_task_status_filter_is_sent_to_the_server(project, encord_emulator):
    from encord.orm.label_row import AnnotationTaskStatus

    document = export_coco_dict(project, label_statuses=["COMPLETED"])
    assert {image["encord_label_hash"] for image in document["images"]} == labelled_hashes(
        project, label_statuses=[AnnotationTaskStatus.COMPLETED]
    )
    listing = next(r for r in encord_emulator.requests if r.query_type == "labelrowmetadata")
    assert listing.body["values"]["payload"]["label_statuses"] == ["COMPLETED"]


def test_label_status_filter_on_a_manual_qa_project(client, encord_emulator):
    project = client.get_project(encord_emulator.ids["manual_qa_project_hash"])
    rows = project._client.list_label_rows(include_uninitialised_labels=True)
    statuses = {row.label_status.value for row in rows if row.label_hash is not None}
    assert statuses
    status = sorted(statuses)[0]
    expected = {row.label_hash for row in rows if row.label_hash and row.label_status.value == status}
    document = export_coco_dict(project, label_statuses=[status])
    assert {image["encord_label_hash"] for image in document["images"]} == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bundle_size": 0}, r"bundle_size=0"),
        ({"bundle_size": 1001}, r"bundle_size=1001.*at most 1000"),
        ({"label_statuses": ["DONE"]}, r"label_statuses=\['DONE'\].*COMPLETED"),
        ({"label_statuses": ["COMPLETED", "LABELLED"]}, r"mixes"),
        ({"edited_after": "yesterday"}, r"edited_after='yesterday'"),
        ({"edited_before": "tomorrow"}, r"edited_before='tomorrow'"),
        (
            {"edited_after": "2024-01-02T00:00:00Z", "edited_before": "2024-01-01T00:00:00Z"},
            r"edited_before=2024-01-01T00:00:00\+00:00 is not after",
        ),
        ({"workflow_stage": ""}, r"workflow_stage=''"),
        ({"label_hashes": "abc"}, r"label_hashes='abc'.*list"),
        ({"object_classes": ["Bus"]}, r"object_classes=\['Bus'\].*'Car'"),
    ],
)
def test_bad_arguments_are_refused_before_any_request(project, encord_emulator, kwargs, message):
    out = io.BytesIO()
    with pytest.raises(ValueError, match=message):
        write_coco(project, out, **kwargs)
    assert encord_emulator.requests == []
    assert out.getvalue() == b""


def test_scale_project_streams_every_row(scale_project_factory):
    emulator, project = scale_project_factory(250, 3)
    out = io.BytesIO()
    counts = write_coco(project, out, bundle_size=100)
    document = orjson.loads(out.getvalue())
    assert counts["images"] == len(document["images"]) == 250
    assert counts["annotations"] == len(document["annotations"])
    assert [a["id"] for a in document["annotations"]] == list(range(1, counts["annotations"] + 1))
    assert [r.query_type for r in emulator.requests if r.transport == "rpc"] == ["labelrowmetadata"] + [
        "labelrow"
    ] * 3


def _prefetch_threads():
    return [t for t in threading.enumerate() if t.name.startswith("coco-export-prefetch") and t.is_alive()]


def test_bundles_read_ahead_come_out_in_order(scale_project):
    emulator, project = scale_project
    expected = export_coco_dict(project, bundle_size=60)  # one bundle: no read-ahead
    emulator.clear_requests()
    streamed = export_coco_dict(project, bundle_size=7)  # nine bundles read ahead
    # READERS reads run at once, so the requests may arrive in any order; the output keeps the listing's.
    assert sorted(c.body["values"]["uid"] for c in label_row_calls(emulator)[1:]) == [
        [f"5ca1e1ab-0000-4000-8000-{i:012x}" for i in range(start, min(start + 7, 60))]
        for start in range(0, 60, 7)
    ]
    expected["info"].pop("date_created")
    streamed["info"].pop("date_created")
    assert streamed == expected
    assert not _prefetch_threads()


def test_by_default_label_rows_are_read_500_at_a_time(scale_project_factory):
    emulator, project = scale_project_factory(1001, 1)
    assert write_coco(project, io.BytesIO())["images"] == 1001
    reads = [c for c in label_row_calls(emulator) if c.query_type == "labelrow"]
    assert sorted(len(c.body["values"]["uid"]) for c in reads) == [
        1,
        DEFAULT_BUNDLE_SIZE,
        DEFAULT_BUNDLE_SIZE,
    ]
    assert DEFAULT_BUNDLE_SIZE == 500


def test_an_export_reads_over_a_few_kept_alive_connections(scale_project):
    emulator, project = scale_project
    export_coco_dict(project, bundle_size=5)  # twelve bundle reads and the listing
    calls = label_row_calls(emulator)
    assert len(calls) == 13
    # One connection per read under way at once (the listing and READERS bundle reads), not one per read.
    assert len({c.client_port for c in calls}) <= READERS + 1


def test_the_sessions_of_an_export_are_all_closed_when_it_ends(scale_project, mocker):
    import requests

    from airflow_provider_encord.coco import _rpc

    opened = mocker.spy(_rpc, "_session")
    closed = mocker.spy(requests.Session, "close")
    export_coco_dict(scale_project[1], bundle_size=5)
    assert 1 <= opened.call_count <= READERS + 1
    assert {id(call.args[0]) for call in closed.call_args_list} >= {id(s) for s in opened.spy_return_list}


def test_a_failed_bundle_read_is_raised_and_stops_the_reads(scale_project):
    from encord.exceptions import ResourceNotFoundError

    emulator, project = scale_project
    emulator.add_fault("rpc:labelrow:GET", "rpc_error", error_code="RESOURCE_NOT_FOUND_ERROR", times=1)
    with pytest.raises(ResourceNotFoundError):
        write_coco(project, io.BytesIO(), bundle_size=10)
    calls = [c.query_type for c in label_row_calls(emulator)]
    # Six bundles. The reads handed to the threads before the failure was known (at most the read-ahead
    # window) may still go out; none is handed over after it.
    assert calls[0] == "labelrowmetadata" and 1 <= calls.count("labelrow") <= PREFETCH_BUNDLES + READERS < 6
    assert not _prefetch_threads()


def test_a_read_skipped_because_a_later_one_failed_is_not_handed_on():
    """Two threads take reads in order, but the second may start its read after the third has failed."""
    from airflow_provider_encord.coco.export import _Prefetcher

    third_failed = threading.Event()

    class Interleaved(_Prefetcher):
        def _guarded(self, item):
            if item == 2:  # the thread that took read 2 checks only once read 3 has failed
                assert third_failed.wait(10)
                return super()._guarded(item)
            try:
                return super()._guarded(item)
            except LookupError:
                third_failed.set()
                raise

    def read(item):
        if item == 3:
            raise LookupError("read 3 failed")
        return f"bundle {item}"

    handed_on = []
    with pytest.raises(LookupError, match="read 3 failed"), Interleaved(read, [1, 2, 3, 4], 2, 2) as results:
        handed_on.extend(results)
    assert handed_on == ["bundle 1"]


def test_closing_the_rows_early_stops_the_read_ahead(scale_project):
    emulator, project = scale_project
    hashes = [f"5ca1e1ab-0000-4000-8000-{i:012x}" for i in range(60)]
    rows = _label_rows(project, hashes, 5, None)
    first = next(rows)
    assert first.label_hash == hashes[0]
    assert _prefetch_threads()
    rows.close()
    assert not _prefetch_threads()
    # the reads: the bundle handed out, at most PREFETCH_BUNDLES waiting and READERS more under way
    assert 1 <= len(label_row_calls(emulator)) <= 1 + PREFETCH_BUNDLES + READERS < 12


def listing_calls(emulator):
    return [r for r in emulator.requests if r.query_type == "labelrowmetadata"]


def test_the_listing_sends_what_the_sdk_sends(project, encord_emulator):
    project._client.list_label_rows(include_uninitialised_labels=True, include_workflow_graph_node=False)
    sdk_call = listing_calls(encord_emulator)[-1]
    encord_emulator.clear_requests()
    write_coco(project, io.BytesIO())
    ours = listing_calls(encord_emulator)[-1]
    assert ours.status == 200 and ours.user == encord_emulator.owner_email
    assert ours.resource_type == sdk_call.resource_type == "project"
    assert ours.resource_id == sdk_call.resource_id
    assert ours.body["query_method"] == "GET"
    assert ours.body["values"] == sdk_call.body["values"]


def test_bearer_token_clients_are_signed_the_sdk_way(encord_emulator):
    client = EncordUserClient.create_with_bearer_token(
        encord_emulator.bearer_token, domain=encord_emulator.url, requests_settings=FAST
    )
    project = client.get_project(encord_emulator.ids["project_hash"])
    assert write_coco(project, io.BytesIO())["images"] == 10


@pytest.mark.parametrize(
    ("code", "error"),
    [("RESOURCE_NOT_FOUND_ERROR", "ResourceNotFoundError"), ("AUTHORISATION_ERROR", "AuthorisationError")],
)
def test_an_error_envelope_on_the_listing_raises_the_sdk_error(project, encord_emulator, code, error):
    import encord.exceptions

    encord_emulator.add_fault("rpc:labelrowmetadata:GET", "rpc_error", error_code=code, times=1)
    out = io.BytesIO()
    with pytest.raises(getattr(encord.exceptions, error)):
        write_coco(project, out)
    assert len(listing_calls(encord_emulator)) == 1  # envelope errors are not retried
    assert not [c for c in label_row_calls(encord_emulator) if c.query_type == "labelrow"]


def test_a_server_error_on_the_listing_is_retried(project, encord_emulator):
    fault = encord_emulator.add_fault(
        "rpc:labelrowmetadata:GET", "status", status=503, retry_after=0, times=1
    )
    counts = write_coco(project, io.BytesIO())
    assert fault.fired == 1
    assert [c.status for c in listing_calls(encord_emulator)] == [503, 200]
    assert counts["images"] == 10


def test_a_server_error_on_a_bundle_is_retried(project, encord_emulator):
    encord_emulator.add_fault("rpc:labelrow:GET", "status", status=500, times=1)
    counts = write_coco(project, io.BytesIO(), bundle_size=4)
    # Three bundles, one answered 500 and read again; two reads run at once, so in any order.
    statuses = [c.status for c in label_row_calls(encord_emulator) if c.query_type == "labelrow"]
    assert sorted(statuses) == [200, 200, 200, 500]
    assert counts["images"] == 10


def test_retries_are_bounded(project, encord_emulator):
    from encord.exceptions import GenericServerError, RateLimitExceededError

    encord_emulator.add_fault("rpc:labelrowmetadata:GET", "status", status=429, retry_after=0)
    with pytest.raises(RateLimitExceededError):
        write_coco(project, io.BytesIO())
    assert len(listing_calls(encord_emulator)) == 1 + FAST.max_retries
    encord_emulator.clear_faults()
    encord_emulator.clear_requests()
    encord_emulator.add_fault("rpc:labelrow:GET", "status", status=502)
    with pytest.raises(GenericServerError):
        write_coco(project, io.BytesIO())
    assert (
        len([c for c in label_row_calls(encord_emulator) if c.query_type == "labelrow"])
        == 1 + FAST.max_retries
    )


def test_the_garbage_collector_is_left_as_it_was(project):
    import gc

    assert gc.isenabled()
    write_coco(project, io.BytesIO(), bundle_size=3)
    assert gc.isenabled()
    gc.disable()
    try:
        write_coco(project, io.BytesIO(), bundle_size=3)
        assert not gc.isenabled()
    finally:
        gc.enable()
