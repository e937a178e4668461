"""Durable asynchronous jobs, their webhooks, batch synthesis and retention."""
