"""Quotas, rate limits, usage events and reports."""
