"""Base class and argument checks shared by every Encord operator."""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowFailException, BaseOperator, conf

from airflow_provider_encord.hooks.inputs import validate_uuid
from airflow_provider_encord.links.encord import EncordDatasetLink, EncordProjectLink, app_url_from_domain

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_encord.hooks.encord import EncordHook

DEFAULT_CONN_ID = "encord_default"


def is_templated(value: Any) -> bool:
    """
    Tell whether a value is only known when the task runs.

    True for a string holding a Jinja expression and for anything that is not plain data (an ``XComArg``,
    a ``MappedArgument``...). Such values are checked in ``execute``, after rendering.
    """
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if value is None or isinstance(value, (bool, int, float)):
        return False
    if isinstance(value, (list, tuple, set)):
        return any(is_templated(item) for item in value)
    if isinstance(value, dict):
        return any(is_templated(item) for item in value.values())
    return True


def require_str(value: Any, name: str) -> str:
    """Return ``value`` stripped; raise ``ValueError`` naming ``name`` unless it is a non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"Invalid {name}={value!r}: expected a non-empty string.")
    return value.strip()


def optional_str(value: Any, name: str) -> str | None:
    """Like :func:`require_str` but ``None`` (and an empty string) mean "not set"."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return require_str(value, name)


def parse_list_text(text: str) -> list[Any]:
    """
    Turn the text form of a list into a list.

    Accepts JSON (``["a", "b"]``), the Python form a rendered ``xcom_pull`` produces (``['a', 'b']``, parsed
    with :func:`ast.literal_eval`, never evaluated), or one item a line (blank lines and ``#`` comments are
    skipped), so a single item is a one-item list.
    """
    stripped = text.strip()
    if stripped.startswith(("[", "(")):
        try:
            value = json.loads(stripped)
        except ValueError:
            try:
                value = ast.literal_eval(stripped)
            except (ValueError, SyntaxError) as err:
                raise ValueError(f"cannot read a list from {stripped[:80]!r}: {err}") from None
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"expected a list, got {type(value).__name__} from {stripped[:80]!r}")
        return list(value)
    return [
        line.strip() for line in stripped.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]


def str_list(value: Any, name: str) -> list[str]:
    """
    Return ``value`` as a non-empty list of non-empty strings.

    A string is read with :func:`parse_list_text`, so a rendered template or an XCom pulled as text works too.
    Raises ``ValueError`` naming the parameter and the first bad item.
    """
    if isinstance(value, str):
        value = parse_list_text(value)
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise ValueError(
            f"Invalid {name}={value!r:.80}: expected a list of strings, got {type(value).__name__}."
        )
    items: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"Invalid {name}[{index}]={item!r:.80}: expected a non-empty string.")
        items.append(item.strip())
    if not items:
        raise ValueError(f"{name} is an empty list: give at least one item, or leave it out.")
    return items


def optional_str_list(value: Any, name: str) -> list[str] | None:
    """Like :func:`str_list` but ``None`` means "not set"."""
    return None if value is None else str_list(value, name)


def uuid_list(value: Any, name: str) -> list[str]:
    """Return ``value`` (a list, or its text) as a list of canonical UUID strings."""
    return [validate_uuid(item, f"{name}[{index}]") for index, item in enumerate(str_list(value, name))]


def optional_uuid(value: Any, name: str) -> str | None:
    """A canonical UUID string, or None when ``value`` is None or empty."""
    return None if value is None or value == "" else validate_uuid(value, name)


def check_static(value: Any, check: Callable[..., Any], *args: Any) -> None:
    """Run ``check(value, *args)`` now, unless ``value`` is only known at run time (:func:`is_templated`)."""
    if not is_templated(value):
        check(value, *args)


def default_deferrable(deferrable: bool | None) -> bool:
    """
    ``deferrable`` as given, or when it is None the ``[operators] default_deferrable`` setting.

    The setting is read when the task is created (at DAG parse), not when this module is first imported,
    so a change of ``AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE`` reaches every DAG parsed after it.
    """
    if deferrable is None:
        return conf.getboolean("operators", "default_deferrable", fallback=False)
    return bool(deferrable)


class EncordBaseOperator(BaseOperator):
    """
    Base class of the Encord operators: the connection id, a lazily created :class:`EncordHook` and helpers.

    Nothing here touches the connection before ``execute``.

    :param encord_conn_id: The Airflow connection to Encord (connection type ``encord``).
    """

    template_fields: Sequence[str] = ("encord_conn_id",)
    ui_color = "#ebe4ff"

    def __init__(self, *, encord_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.encord_conn_id = encord_conn_id

    @cached_property
    def hook(self) -> EncordHook:
        """The :class:`~airflow_provider_encord.hooks.encord.EncordHook` of ``encord_conn_id``."""
        from airflow_provider_encord.hooks.encord import EncordHook

        return EncordHook(encord_conn_id=self.encord_conn_id)

    @contextmanager
    def invalid_input_fails(self) -> Iterator[None]:
        """Turn a ``ValueError`` from an argument check into a failure that is not retried."""
        try:
            yield
        except ValueError as err:
            raise AirflowFailException(f"{self.task_id}: {err}") from None

    def app_url(self) -> str:
        """The Encord web-app URL that belongs to the connection's API domain."""
        return app_url_from_domain(getattr(self.hook, "domain", None))

    def persist_links(
        self,
        context: Context | dict[str, Any],
        *,
        project_hash: str | None = None,
        dataset_hash: str | None = None,
    ) -> None:
        """Store the extra-link values for the project and/or dataset this task touched."""
        if not context or context.get("ti") is None:
            return
        try:
            app_url = self.app_url()
        except Exception as err:  # a link must never fail the task
            self.log.warning("No Encord link for this task: %s", err)
            return
        if project_hash:
            EncordProjectLink.persist(context, app_url=app_url, project_hash=project_hash)
        if dataset_hash:
            EncordDatasetLink.persist(context, app_url=app_url, dataset_hash=dataset_hash)
