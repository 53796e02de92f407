"""Fake discord server for tests (placeholder until written)."""
