"""Auth, injected faults, the CLI and the scale seed."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import time

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from encord import EncordUserClient
from encord.exceptions import (
    AuthenticationError,
    GenericServerError,
    RateLimitExceededError,
    RequestException,
    SshKeyNotFound,
)
from encord.http.constants import RequestsSettings

from tests.emulator.conftest import FAST, sdk_client

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
NO_RETRY = RequestsSettings(
    max_retries=0, backoff_factor=0.0, connection_retries=0, connect_timeout=5, read_timeout=5
)


def _stranger(emulator):
    key = (
        Ed25519PrivateKey.generate()
        .private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption())
        .decode()
    )
    return EncordUserClient.create_with_ssh_private_key(key, domain=emulator.url, requests_settings=FAST)


def test_unknown_key_is_rejected_on_both_transports(encord_emulator):
    stranger = _stranger(encord_emulator)
    with pytest.raises(AuthenticationError):
        stranger.get_project(encord_emulator.ids["project_hash"])  # v2
    with pytest.raises(SshKeyNotFound):
        stranger.get_dataset(encord_emulator.ids["dataset_hash"], include_data_rows=False)  # RPC
    assert [r.status for r in encord_emulator.requests] == [401, 401]


def test_bearer_token_works_and_a_wrong_one_does_not(encord_emulator):
    client = EncordUserClient.create_with_bearer_token(
        encord_emulator.bearer_token, domain=encord_emulator.url, requests_settings=FAST
    )
    assert client.get_project(encord_emulator.ids["project_hash"]).title == "Demo project"
    assert (
        client.get_dataset(encord_emulator.ids["dataset_hash"], include_data_rows=False).title
        == "Demo dataset"
    )
    wrong = EncordUserClient.create_with_bearer_token(
        "nope", domain=encord_emulator.url, requests_settings=FAST
    )
    with pytest.raises(AuthenticationError):
        wrong.get_project(encord_emulator.ids["project_hash"])


def test_user_agent_suffix_is_recorded(encord_emulator):
    client = sdk_client(encord_emulator, user_agent_suffix="airflow-provider-encord/0.1.0")
    client.get_project(encord_emulator.ids["project_hash"])
    assert all("airflow-provider-encord/0.1.0" in r.user_agent for r in encord_emulator.requests)


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_status_faults_fail_n_times_then_succeed(encord_emulator, status):
    fault = encord_emulator.add_fault("v2:GET:/projects/{p}", "status", status=status, times=2, retry_after=0)
    project = sdk_client(encord_emulator).get_project(encord_emulator.ids["project_hash"])  # 2 retries
    assert project.title == "Demo project"
    assert fault.fired == 2
    statuses = [r.status for r in encord_emulator.requests if r.route == "v2:GET:/projects/{p}"]
    assert statuses == [status, status, 200]


def test_rate_limit_without_retries_carries_retry_after(encord_emulator):
    encord_emulator.add_fault("v2:GET:/projects/*", "status", status=429, retry_after=7)
    client = sdk_client(encord_emulator, settings=NO_RETRY)
    with pytest.raises(RateLimitExceededError) as caught:
        client.get_project(encord_emulator.ids["project_hash"])
    assert caught.value.retry_after == 7


def test_rpc_error_envelope(encord_emulator):
    encord_emulator.add_fault("rpc:dataset:GET", "rpc_error", error_code="RATE_LIMIT_ERROR", times=1)
    client = sdk_client(encord_emulator)
    with pytest.raises(RateLimitExceededError):
        client.get_dataset(encord_emulator.ids["dataset_hash"], include_data_rows=False)
    assert (
        client.get_dataset(encord_emulator.ids["dataset_hash"], include_data_rows=False).title
        == "Demo dataset"
    )


def test_rpc_status_fault_on_a_setter_is_not_retried(encord_emulator):
    encord_emulator.add_fault("rpc:project:POST", "status", status=503, times=1)
    client = sdk_client(encord_emulator)
    with pytest.raises(GenericServerError):
        client.create_project("Once", [encord_emulator.ids["dataset_hash"]])
    assert len([r for r in encord_emulator.requests if r.route == "rpc:project:POST"]) == 1


def test_dropped_connection(encord_emulator):
    encord_emulator.add_fault("v2:GET:/projects/{p}", "drop")
    with pytest.raises(RequestException):
        sdk_client(encord_emulator, settings=NO_RETRY).get_project(encord_emulator.ids["project_hash"])
    assert encord_emulator.requests[0].fault == "drop"


def test_truncated_answer(encord_emulator):
    encord_emulator.add_fault("v2:GET:/projects/{p}", "truncate", times=1)
    client = sdk_client(encord_emulator, settings=NO_RETRY)
    with pytest.raises(RequestException):
        client.get_project(encord_emulator.ids["project_hash"])
    assert encord_emulator.requests[0].fault == "truncate"
    assert encord_emulator.requests[0].status == 200  # the headers went out whole, the body did not
    assert client.get_project(encord_emulator.ids["project_hash"]).title == "Demo project"


def test_timeout(encord_emulator):
    slow = RequestsSettings(
        max_retries=0, backoff_factor=0.0, connection_retries=0, connect_timeout=5, read_timeout=1
    )
    fault = encord_emulator.add_fault("v2:GET:/projects/{p}", "timeout", delay=3, times=1)
    with pytest.raises(RequestException):
        sdk_client(encord_emulator, settings=slow).get_project(encord_emulator.ids["project_hash"])
    assert fault.fired == 1
    # The held request is logged only when its answer goes out (to nobody), after the next call's requests.
    assert (
        sdk_client(encord_emulator).get_project(encord_emulator.ids["project_hash"]).title == "Demo project"
    )


def test_latency_delays_the_answer(encord_emulator):
    delay = 0.5
    fault = encord_emulator.add_fault("v2:GET:/ontologies/*", "latency", delay=delay, times=1)
    client = sdk_client(encord_emulator)
    started = time.monotonic()
    project = client.get_project(encord_emulator.ids["project_hash"])
    waited = time.monotonic() - started
    assert project.title == "Demo project"
    assert waited >= delay  # a lower bound: the answer cannot come before the added latency is over
    assert fault.fired == 1
    faults = {r.route: r.fault for r in encord_emulator.requests}
    assert faults == {"v2:GET:/projects/{p}": None, "v2:GET:/ontologies/{o}": "latency"}


def test_add_fault_validates_its_arguments(encord_emulator):
    with pytest.raises(ValueError, match="kind='explode'"):
        encord_emulator.add_fault("*", "explode")
    with pytest.raises(ValueError, match="RPC route"):
        encord_emulator.add_fault("v2:GET:/projects", "rpc_error")


def test_scale_seed_pages_lazily(encord_emulator_factory):
    emu = encord_emulator_factory(seed="scale", scale_images=100_000, scale_objects=5)
    project = sdk_client(emu).get_project(emu.ids["project_hash"])
    complete = project.workflow.get_stage(name="Complete")
    first = list(itertools.islice(complete.get_tasks(), 150))
    assert first[0].data_title == "scale_0000000.jpg" and first[-1].data_title == "scale_0000149.jpg"
    row = project.list_label_rows_v2(data_hashes=[first[-1].data_hash])[0]
    row.initialise_labels()
    assert len(row.get_object_instances()) == 5
    assert len(emu.store.projects[emu.ids["project_hash"]].rows.rows) == 0  # nothing materialised


def test_cli_serves_the_demo_seed(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_encord.testing.emulator", "--port", "0", "--seed", "demo"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        url = key_path = None
        deadline = time.monotonic() + 30
        while (url is None or key_path is None) and time.monotonic() < deadline:
            line = process.stdout.readline()
            if match := re.search(r"(http://127\.0\.0\.1:\d+)", line):
                url = match.group(1)
            if match := re.search(r"Private key .*: (\S+)", line):
                key_path = match.group(1)
        assert url and key_path
        client = EncordUserClient.create_with_ssh_private_key(
            ssh_private_key_path=key_path, domain=url, requests_settings=FAST
        )
        assert [p.title for p in client.list_projects(title_like="Demo%")] == ["Demo project"]
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.returncode == 0


def test_truncate_on_a_void_route_does_not_cut_the_next_answer_on_the_connection(encord_emulator):
    ids = encord_emulator.ids
    row = encord_emulator.store.projects[ids["project_hash"]].rows.get(ids["data_hashes"][0])
    fault = encord_emulator.add_fault("v2:POST:*/move-tasks", "truncate", times=1)
    base = f"{encord_emulator.url}/v2/public/projects/{ids['project_hash']}"
    with requests.Session() as session:  # one kept-alive connection for both requests
        session.headers["Authorization"] = f"Bearer {encord_emulator.bearer_token}"
        moved = session.post(
            f"{base}/workflow/stages/{ids['stages']['Annotate']}/move-tasks",
            json={"destinationStageUuid": ids["stages"]["Review"], "taskUuids": [row.task_uuid]},
            timeout=5,
        )
        project = session.get(base, timeout=5)
    assert fault.fired == 1 and moved.status_code == 204 and moved.content == b""
    assert project.status_code == 200 and project.json()["title"] == "Demo project"
    assert [r.fault for r in encord_emulator.requests] == ["truncate", None]
