"""Helpers for the emulator tests: real SDK clients pointed at an emulator."""

from __future__ import annotations

import pytest
from encord import EncordUserClient
from encord.http.constants import RequestsSettings

FAST = RequestsSettings(
    max_retries=2, backoff_factor=0.0, connection_retries=0, connect_timeout=5, read_timeout=5
)


def sdk_client(emulator, *, settings: RequestsSettings = FAST, **kwargs) -> EncordUserClient:
    return EncordUserClient.create_with_ssh_private_key(
        emulator.private_key, domain=emulator.url, requests_settings=settings, **kwargs
    )


@pytest.fixture
def client(encord_emulator) -> EncordUserClient:
    return sdk_client(encord_emulator)
