"""Where image bytes live: a directory (default) or an S3-compatible bucket, chosen by ``EASEL_STORE_URL``.

Usage::

    blobs = open_blob_store(parse_store_url("s3://easel/images"), data_dir, S3Options(endpoint_url=...))
    store = ImageStore(data_dir, db, blobs)     # services.store: the facade the rest of easel uses
"""

from __future__ import annotations

from pathlib import Path

from services.stores.base import BlobStore
from services.stores.filesystem import FilesystemBlobStore
from services.stores.location import FileLocation, S3Location, S3Options, StoreLocation, parse_store_url

__all__ = [
    "BlobStore",
    "FileLocation",
    "FilesystemBlobStore",
    "S3Location",
    "S3Options",
    "StoreLocation",
    "open_blob_store",
    "parse_store_url",
]


def open_blob_store(location: StoreLocation | None, data_dir: Path, s3: S3Options | None = None) -> BlobStore:
    """The store for ``location`` (``None``: the data dir itself, today's layout).

    aiobotocore is imported only when a bucket is used, so the default costs no start-up time.
    """
    if location is None:
        return FilesystemBlobStore(data_dir)
    if isinstance(location, FileLocation):
        return FilesystemBlobStore(location.root)
    from services.stores.s3 import S3BlobStore

    return S3BlobStore(location, s3 or S3Options())
