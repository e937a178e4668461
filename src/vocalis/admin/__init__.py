"""Operator API: accounts, keys, platform statistics, audit trail."""
