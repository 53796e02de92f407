"""What the invisible mark carries, and the Reed–Solomon code that protects it.

::

    bits = encode_bits(MarkPayload(instance_id="3fa2c01b", job_prefix="9c1e0d2a7b44"))  # 160 × {0, 1}
    payload = decode_bits(bits)   # None unless the word is within the code's reach

Ten bytes: the instance (4 bytes, :func:`instance_id` form) and the first 6 bytes of the job id
(a uuid4 hex; 48 bits make a collision among one instance's jobs vanishingly rare, and the
verifier looks the full id up by prefix). Ten Reed–Solomon parity bytes (``reedsolo``) correct
five wrong bytes; a random 20-byte word decodes by chance with probability ~1e-8, which, with the
sync threshold in :mod:`services.provenance.sync`, is what keeps unmarked images unmarked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import reedsolo

__all__ = ["CODED_BITS", "INSTANCE_HEX", "JOB_HEX", "MarkPayload", "decode_bits", "encode_bits"]

INSTANCE_HEX: Final = 8
JOB_HEX: Final = 12
_DATA_BYTES: Final = (INSTANCE_HEX + JOB_HEX) // 2
_PARITY_BYTES: Final = 10
CODED_BITS: Final = 8 * (_DATA_BYTES + _PARITY_BYTES)

_codec = reedsolo.RSCodec(_PARITY_BYTES)


@dataclass(frozen=True, slots=True)
class MarkPayload:
    """The decoded fields: ``instance_id`` (8 hex digits) and ``job_prefix`` (12 hex digits)."""

    instance_id: str
    job_prefix: str

    @classmethod
    def for_job(cls, instance_id: str, job_id: str) -> MarkPayload:
        return cls(instance_id=instance_id[:INSTANCE_HEX].lower(), job_prefix=job_id[:JOB_HEX].lower())

    def to_bytes(self) -> bytes:
        data = bytes.fromhex(self.instance_id.ljust(INSTANCE_HEX, "0") + self.job_prefix.ljust(JOB_HEX, "0"))
        if len(data) != _DATA_BYTES:
            raise ValueError("instance id and job prefix must be hex")
        return data


def encode_bits(payload: MarkPayload) -> np.ndarray:
    """The payload's code word as a ``uint8`` array of :data:`CODED_BITS` zeros and ones."""
    word = bytes(_codec.encode(payload.to_bytes()))
    return np.unpackbits(np.frombuffer(word, dtype=np.uint8))


def decode_bits(bits: np.ndarray) -> MarkPayload | None:
    """Correct and decode hard bits; ``None`` when the word is too damaged (or was never a mark)."""
    word = np.packbits(bits.astype(np.uint8)).tobytes()
    try:
        data = bytes(_codec.decode(word)[0])
    except reedsolo.ReedSolomonError:
        return None
    hexed = data.hex()
    return MarkPayload(instance_id=hexed[:INSTANCE_HEX], job_prefix=hexed[INSTANCE_HEX:])
