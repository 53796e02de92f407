"""Provenance: the invisible mark on published images (and, with keys, C2PA credentials).

::

    from services.provenance import MarkPayload, detect_mark, embed_mark

    marked = embed_mark(img, MarkPayload.for_job(instance_id, job_id))
    found = detect_mark(marked.resize((512, 512)))   # DetectedMark(payload=..., strength=...)

Modules: :mod:`.payload` (fields + Reed–Solomon), :mod:`.pattern` (the keyed tile),
:mod:`.embed`, :mod:`.sync` (crop / scale / rotation recovery), :mod:`.detect`.
Why this scheme and not an existing library: ``bench/provenance.py``.
"""

from services.provenance.detect import DetectedMark, detect_mark
from services.provenance.embed import embed_mark
from services.provenance.payload import MarkPayload

__all__ = ["DetectedMark", "MarkPayload", "detect_mark", "embed_mark"]
