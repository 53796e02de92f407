"""Fake slack server for tests (placeholder until written)."""
