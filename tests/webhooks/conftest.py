"""Webhooks go to a real receiver on loopback, on real time (retries must really elapse).

The jobs tests share these settings and fixtures: a job announces its end with a webhook.
"""

from collections.abc import AsyncIterator, Callable

import pytest

from tests.webhooks.receiver import Receiver, ReceiverServer
from vocalis.config import Settings
from vocalis.kit.clock import Clock

WEBHOOK_SETTINGS = {
    "webhook_allow_private": True,  # the test receiver listens on loopback
    "webhook_retry_schedule": [0, 0.2, 0.2],
    "webhook_timeout_seconds": 1.0,
    "worker_poll_seconds": 0.05,
}


@pytest.fixture
def clock() -> Clock:  # type: ignore[override]
    return Clock()


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database_url: str) -> Settings:
    return make_settings(database_url=database_url, **WEBHOOK_SETTINGS)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hooks = Receiver()
    async with ReceiverServer(hooks):
        yield hooks
