"""Exceptions raised by the Encord provider.

Two families, so that Airflow's task retries do the right thing:

* :class:`EncordFailError` and its subclasses derive from ``AirflowFailException``: the task fails at once,
  without retries, because trying again cannot help (wrong credentials, missing permission, a resource that
  does not exist, invalid arguments, bad input).
* :class:`EncordRetryableError` and its subclasses derive from ``AirflowException``: rate limits, server
  errors and network failures, which Airflow retries according to the task's ``retries``.

No message ever carries key material: the hook scrubs every text it did not write itself.
"""

from __future__ import annotations

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException


class EncordFailError(AirflowFailException):
    """A failure that retrying cannot fix; Airflow fails the task without retries."""


class EncordConfigurationError(EncordFailError, ValueError):
    """The Airflow connection is unusable: no credentials, a key of the wrong type, a malformed domain."""


class EncordAuthenticationError(EncordFailError):
    """Encord did not accept the credentials (unknown key, wrong region, expired token)."""


class EncordPermissionError(EncordFailError):
    """The credentials are valid but lack access to the resource."""


class EncordNotFoundError(EncordFailError):
    """The project, dataset, ontology, folder, stage or task does not exist (or is not visible)."""


class EncordInvalidInputError(EncordFailError, ValueError):
    """An argument was rejected, by the provider before any request or by Encord."""


class EncordUploadError(EncordFailError):
    """An upload job finished with status ERROR or CANCELLED."""


class EncordUploadTimeoutError(EncordFailError, TimeoutError):
    """An upload job did not finish in time; it keeps running on the server (see ``upload_job_id``)."""

    def __init__(self, message: str, *, dataset_hash: str, upload_job_id: str) -> None:
        super().__init__(message)
        self.dataset_hash = dataset_hash
        self.upload_job_id = upload_job_id


class EncordRetryableError(AirflowException):
    """A transient failure (rate limit, 5xx, network); Airflow retries the task if it has retries left."""


class EncordRateLimitError(EncordRetryableError):
    """Encord answered 429; ``retry_after`` holds the advised wait in seconds when Encord gave one."""

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


__all__ = [
    "EncordAuthenticationError",
    "EncordConfigurationError",
    "EncordFailError",
    "EncordInvalidInputError",
    "EncordNotFoundError",
    "EncordPermissionError",
    "EncordRateLimitError",
    "EncordRetryableError",
    "EncordUploadError",
    "EncordUploadTimeoutError",
]
