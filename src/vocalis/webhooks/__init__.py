"""Customers' webhooks: signed, durable, SSRF-safe deliveries, for any domain's events.

Sits below the domains that raise events (jobs today; billing and mail later), so it knows no
job: a domain writes a delivery with `outbox.enqueue_event` and the dispatcher sends it.
"""
