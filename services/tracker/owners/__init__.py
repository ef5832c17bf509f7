"""Ticket owners: take, give, release, the supervisor's load and per-handler figures, and the
optional round-robin on arrival among the department's available handlers."""
