"""Fake stability server for tests (placeholder until written)."""
