"""The peers' client-runtime tests, translated (PRODUCT.md section 3): every test runs over both
transports (the ``transport`` fixture) with the SDK's waits instant (``disable_retry_delays``)."""

from __future__ import annotations

from typing import Iterator

import pytest

from microdc.lib.retry import disable_retry_delays

from .._transports import transport

__all__ = ["transport"]  # the fixture, imported for pytest


@pytest.fixture(autouse=True)
def instant_retry_delays() -> Iterator[None]:
    with disable_retry_delays():
        yield
