"""SDK errors become Airflow exceptions: fail without retries, or retryable, and never carry key material."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_encord.exceptions import (
    EncordAuthenticationError,
    EncordFailError,
    EncordInvalidInputError,
    EncordNotFoundError,
    EncordPermissionError,
    EncordRateLimitError,
    EncordRetryableError,
)

PROJECT_ROUTE = "v2:GET:/projects/{p}"


def _assert_clean(exc: BaseException, emulator) -> None:
    text = str(exc)
    assert "PRIVATE KEY" not in text
    assert all(line not in text for line in emulator.private_key.splitlines() if len(line) > 16)
    assert emulator.bearer_token not in text
    assert exc.__cause__ is None, "SDK exceptions are not chained into Airflow's log"


def test_not_found_fails_without_retry(hook, emulator):
    with pytest.raises(EncordNotFoundError) as info:
        hook.get_project("00000000-0000-4000-8000-00000000000a")
    assert isinstance(info.value, AirflowFailException)
    assert "Check the identifier" in str(info.value)
    _assert_clean(info.value, emulator)


@pytest.mark.parametrize(
    ("status", "expected", "advice"),
    [
        (401, EncordAuthenticationError, "region"),
        (403, EncordPermissionError, "needs access"),
        (404, EncordNotFoundError, "Check the identifier"),
        (400, EncordInvalidInputError, "Fix the arguments"),
        (409, EncordInvalidInputError, "ResourceExistsError"),
        (413, EncordInvalidInputError, "PayloadTooLargeError"),
    ],
)
def test_client_errors_fail_without_retry(hook, emulator, status, expected, advice):
    emulator.add_fault(PROJECT_ROUTE, "status", status=status)
    with pytest.raises(expected) as info:
        hook.get_project(emulator.ids["project_hash"])
    assert isinstance(info.value, AirflowFailException)
    assert advice in str(info.value) and "get project" in str(info.value)
    _assert_clean(info.value, emulator)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retryable(hook, emulator, status):
    emulator.add_fault(PROJECT_ROUTE, "status", status=status)
    with pytest.raises(EncordRetryableError) as info:
        hook.get_project(emulator.ids["project_hash"])
    assert isinstance(info.value, AirflowException)
    assert not isinstance(info.value, AirflowFailException)
    assert "retried" in str(info.value)
    _assert_clean(info.value, emulator)


def test_rate_limit_is_retryable_with_the_advised_wait(hook, emulator):
    emulator.add_fault(PROJECT_ROUTE, "status", status=429, retry_after=7)
    with pytest.raises(EncordRateLimitError) as info:
        hook.get_project(emulator.ids["project_hash"])
    assert not isinstance(info.value, AirflowFailException)
    assert info.value.retry_after == 7
    assert "rate limit" in str(info.value)


def test_rpc_rate_limit_is_retryable(hook, emulator):
    emulator.add_fault("rpc:labelrowmetadata:GET", "rpc_error", error_code="RATE_LIMIT_ERROR")
    with pytest.raises(EncordRetryableError) as info:
        hook.list_label_rows(emulator.ids["project_hash"])
    assert not isinstance(info.value, AirflowFailException)


def test_network_errors_are_retryable(hook, emulator):
    emulator.add_fault("v2:GET:/datasets/list", "drop")
    with pytest.raises(EncordRetryableError) as info:
        hook.list_datasets()
    assert "network" in str(info.value)
    _assert_clean(info.value, emulator)


def test_a_read_timeout_is_retryable(emulator, make_hook):
    hook = make_hook(emulator, extra={"max_retries": 0, "backoff_factor": 0, "read_timeout": 1})
    emulator.add_fault(PROJECT_ROUTE, "timeout", delay=3)
    with pytest.raises(EncordRetryableError) as info:
        hook.get_project(emulator.ids["project_hash"])
    assert not isinstance(info.value, AirflowFailException)
    assert "network" in str(info.value)


@pytest.mark.parametrize(
    ("sdk_error", "expected"),
    [
        ("CorruptedLabelError", EncordFailError),
        ("FileTypeNotSupportedError", EncordFailError),
        ("FeatureDoesNotExistError", EncordFailError),
        ("BundledMoveWorkflowTasksPayloadError", EncordFailError),
        ("CloudUploadError", EncordRetryableError),
        ("UnknownException", EncordRetryableError),
    ],
)
def test_other_sdk_errors_fail_unless_transient(hook, emulator, sdk_error, expected):
    """SDK errors without an HTTP status of their own: only cloud-upload and unknown errors are retried."""
    from encord import exceptions

    hook.get_conn()
    with pytest.raises(expected) as info, hook._translate_errors("do it"):
        raise getattr(exceptions, sdk_error)(f"went wrong with {emulator.private_key}")
    assert isinstance(info.value, AirflowFailException) == (expected is EncordFailError)
    assert sdk_error in str(info.value) and "Could not do it" in str(info.value)
    _assert_clean(info.value, emulator)


def test_sdk_retries_transient_errors_per_connection_settings(emulator, make_hook):
    """With retries allowed in the connection, one 503 is absorbed by the SDK and the call succeeds."""
    hook = make_hook(emulator, extra={"max_retries": 2, "backoff_factor": 0})
    fault = emulator.add_fault(PROJECT_ROUTE, "status", status=503, times=1)
    assert hook.get_project(emulator.ids["project_hash"])["title"] == "Demo project"
    assert fault.fired == 1


def test_bearer_token_never_appears_in_errors(emulator, make_hook):
    hook = make_hook(emulator, auth="bearer", extra={"max_retries": 0})
    emulator.add_fault("*", "status", status=401)
    with pytest.raises(EncordAuthenticationError) as info:
        hook.list_projects()
    _assert_clean(info.value, emulator)


def test_scrub_removes_key_material_from_any_text(hook, emulator):
    hook.get_conn()
    dirty = f"boom {emulator.private_key} and Bearer abc.def-ghi and ssh-ed25519 {'A' * 40}"
    clean = hook._scrub(dirty)
    assert "PRIVATE KEY" not in clean and "abc.def-ghi" not in clean and "A" * 40 not in clean
    assert clean.startswith("boom ")
