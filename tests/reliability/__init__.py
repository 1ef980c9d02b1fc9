"""Reliability: lose nothing, duplicate nothing, leak nothing (issue 7)."""
