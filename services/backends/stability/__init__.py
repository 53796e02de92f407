"""Stability AI's REST API (v1 and stable-image v2beta) as an easel backend; see :mod:`.plugin`."""
