"""Jobs run on real time (retries and leases must really elapse) against a local receiver: the
webhook tests' settings and fixtures, for a job announces its end with a webhook."""

from tests.webhooks.conftest import WEBHOOK_SETTINGS, clock, receiver, settings

JOB_SETTINGS = WEBHOOK_SETTINGS

__all__ = ["JOB_SETTINGS", "clock", "receiver", "settings"]
