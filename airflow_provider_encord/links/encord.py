"""Operator extra links to the Encord web app.

Airflow 3 renders extra links in the API server, which cannot open a connection or call Encord. The operators
therefore store everything a link needs (the web-app URL and the hash) in XCom while the task runs, with
:meth:`EncordLink.persist`, and the link only formats what it reads back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import BaseOperator, Context, TaskInstanceKey

DEFAULT_APP_URL = "https://app.encord.com"


def app_url_from_domain(domain: str | None) -> str:
    """
    Return the Encord web-app URL that belongs to an API domain.

    The hosted API lives on ``api.<region>encord.com`` and the app on ``app.<region>encord.com``
    (``https://api.encord.com`` -> ``https://app.encord.com``, ``https://api.us.encord.com`` ->
    ``https://app.us.encord.com``). Any other domain (a private deployment, a local server) is returned as
    ``scheme://host[:port]`` unchanged.

    :param domain: The API domain of the connection, with or without a scheme. Empty means the default.
    """
    if not domain:
        return DEFAULT_APP_URL
    parts = urlsplit(domain if "://" in domain else f"https://{domain}")
    host = parts.hostname or ""
    netloc = parts.netloc.rsplit("@", 1)[-1]
    if host.startswith("api."):
        netloc = "app." + netloc[len("api.") :]
    return f"{parts.scheme or 'https'}://{netloc}"


class EncordLink(BaseOperatorLink):
    """
    Base class of the links to the Encord web app.

    A subclass sets ``name`` (the button label), ``key`` (the XCom key written by :meth:`persist`) and
    ``format_str`` (filled from the persisted values). The link is empty until the task has persisted it.
    """

    name: ClassVar[str]
    key: ClassVar[str]
    format_str: ClassVar[str]

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        values = XCom.get_value(key=self.key, ti_key=ti_key)
        if not values:
            return ""
        try:
            return self.format_str.format(**values)
        except (KeyError, TypeError, ValueError):
            return ""

    @classmethod
    def persist(cls, context: Context | dict[str, Any], *, app_url: str, **values: Any) -> None:
        """
        Store the values of this link in the task's XCom.

        Does nothing without a task instance in ``context`` (a bare ``operator.execute({})`` call).

        :param context: The task context.
        :param app_url: The Encord web-app URL, see :func:`app_url_from_domain`.
        :param values: The identifiers ``format_str`` needs, e.g. ``project_hash``.
        """
        ti = context.get("ti") if context else None
        if ti is None:
            return
        ti.xcom_push(key=cls.key, value={"app_url": app_url.rstrip("/"), **values})


class EncordProjectLink(EncordLink):
    """Link to the Encord project the task worked on."""

    name = "Encord Project"
    key = "encord_project_link"
    format_str = "{app_url}/projects/view/{project_hash}/summary"


class EncordDatasetLink(EncordLink):
    """Link to the Encord dataset the task worked on."""

    name = "Encord Dataset"
    key = "encord_dataset_link"
    format_str = "{app_url}/datasets/view/{dataset_hash}"
