"""Polling loop shared by the Encord triggers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

if TYPE_CHECKING:
    from airflow_provider_encord.hooks.encord import EncordHook

DEFAULT_CONN_ID = "encord_default"
#: Consecutive failed checks a trigger tolerates before it gives up.
DEFAULT_MAX_POLL_ERRORS = 5
#: Longest error text put in an event (events are stored in the metadata database).
MAX_MESSAGE_LENGTH = 1000


class EncordPollingTrigger(BaseTrigger):
    """
    Base class of the Encord triggers: call a synchronous check until it reports completion or time runs out.

    The check runs in a worker thread (``asyncio.to_thread``), so the SDK never blocks the triggerer's event
    loop. A check that raises ``AirflowFailException`` ends the wait at once; any other error is tolerated
    ``max_poll_errors`` times in a row. The deadline is an absolute Unix time carried in the serialized
    trigger, so a restarted triggerer keeps the original deadline and a timeout is reported as an event
    (``{"status": "timeout"}``) that reaches the task's ``execute_complete``.

    Events: ``{"status": "success", ...}``, ``{"status": "error", "retryable": bool, "message": str}`` and
    ``{"status": "timeout", "message": str}``.

    :param end_time: Unix time after which the trigger stops waiting.
    :param poll_interval: Seconds between two checks.
    :param encord_conn_id: The Airflow connection to Encord.
    :param max_poll_errors: Consecutive failed checks tolerated before giving up.
    """

    def __init__(
        self,
        *,
        end_time: float,
        poll_interval: float = 30.0,
        encord_conn_id: str = DEFAULT_CONN_ID,
        max_poll_errors: int = DEFAULT_MAX_POLL_ERRORS,
    ) -> None:
        super().__init__()
        self.end_time = float(end_time)
        self.poll_interval = float(poll_interval)
        self.encord_conn_id = encord_conn_id
        self.max_poll_errors = int(max_poll_errors)

    def _base_kwargs(self) -> dict[str, Any]:
        return {
            "end_time": self.end_time,
            "poll_interval": self.poll_interval,
            "encord_conn_id": self.encord_conn_id,
            "max_poll_errors": self.max_poll_errors,
        }

    def _classpath(self) -> str:
        return f"{type(self).__module__}.{type(self).__qualname__}"

    def _hook(self) -> EncordHook:
        from airflow_provider_encord.hooks.encord import EncordHook

        return EncordHook(encord_conn_id=self.encord_conn_id)

    def check(self, hook: EncordHook) -> dict[str, Any] | None:
        """
        Make one synchronous check (runs in a thread).

        :return: The payload of the success event once the wait is over, else None.
        """
        raise NotImplementedError

    def timeout_message(self) -> str:
        """The message of the timeout event."""
        return "The wait timed out."

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow.providers.common.compat.sdk import AirflowFailException

        hook = self._hook()
        failures = 0
        while True:
            try:
                payload = await asyncio.to_thread(self.check, hook)
            except AirflowFailException as err:
                yield TriggerEvent({"status": "error", "retryable": False, "message": _message(err)})
                return
            except Exception as err:
                failures += 1
                if failures > self.max_poll_errors:
                    yield TriggerEvent(
                        {
                            "status": "error",
                            "retryable": True,
                            "message": f"{failures} checks in a row failed, the last with: {_message(err)}",
                        }
                    )
                    return
                self.log.warning(
                    "Check failed (%d of %d tolerated in a row): %s",
                    failures,
                    self.max_poll_errors,
                    _message(err),
                )
            else:
                failures = 0
                if payload is not None:
                    yield TriggerEvent({"status": "success", **payload})
                    return
            remaining = self.end_time - time.time()
            if remaining <= 0:
                yield TriggerEvent({"status": "timeout", "message": self.timeout_message()})
                return
            await asyncio.sleep(min(self.poll_interval, remaining))


def _message(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    return text if len(text) <= MAX_MESSAGE_LENGTH else text[: MAX_MESSAGE_LENGTH - 3] + "..."
