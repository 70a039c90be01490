"""Pages of the scale seed's generated rows are made from the page token on, not from the first row."""

from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _names(count: int) -> list[str]:
    return [f"scale_{i:07d}.jpg" for i in range(count)]


def _bearer_get(emu, path: str, **params) -> dict:
    answer = requests.get(
        f"{emu.url}/v2/public{path}",
        params=params,
        headers={"Authorization": f"Bearer {emu.bearer_token}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_page_of_generated_rows_is_made_from_its_token_on(encord_emulator_factory):
    emu = encord_emulator_factory(seed="scale", scale_images=100_000, max_page_size=50)
    rows = emu.store.projects[emu.ids["project_hash"]].rows
    made: list[int] = []
    factory = rows.factory
    rows.factory = lambda index: made.append(index) or factory(index)
    path = f"/projects/{emu.ids['project_hash']}/workflow/stages/{emu.ids['stages']['Complete']}/tasks"

    first = _bearer_get(emu, path)
    second = _bearer_get(emu, path, pageToken=first["nextPageToken"])
    deep = _bearer_get(emu, path, pageToken="99990")

    assert [t["dataTitle"] for t in first["results"] + second["results"]] == _names(100)
    assert [t["dataTitle"] for t in deep["results"]] == _names(100_000)[-10:]
    assert deep["nextPageToken"] is None
    # Each page made its rows (and one to see whether another page follows), none before its token.
    assert made == [*range(51), *range(50, 101), *range(99_990, 100_000)]
