"""Fixtures that build easel's real services against the fakes (owned by the lead)."""
