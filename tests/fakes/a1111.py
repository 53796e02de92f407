"""Fake a1111 server for tests (placeholder until written)."""
