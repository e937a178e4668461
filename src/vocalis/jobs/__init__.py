"""Durable asynchronous jobs, their webhook events, batch synthesis and retention."""
