"""Image bytes as objects in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, Garage, R2), via aiobotocore.

A PUT is atomic: readers see the old object, the new one, or none, never a part. Credentials come
from :class:`S3Options` when the operator set ``EASEL_S3_ACCESS_KEY_ID``/``EASEL_S3_SECRET_ACCESS_KEY``,
otherwise from botocore's standard chain (``AWS_ACCESS_KEY_ID``…, ``~/.aws``, an instance role); they
are never logged. Every failure becomes a :class:`~services.errors.StorageError` whose ``log_detail``
says which of bucket missing, access denied or endpoint unreachable it was.
"""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AsyncExitStack
from typing import Any

import aiohttp
from aiobotocore.session import get_session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from services.errors import StorageError, StorageUnavailable
from services.stores.location import S3Location, S3Options

__all__ = ["S3BlobStore"]

_MISSING_BUCKET = frozenset({"NoSuchBucket"})
_DENIED = frozenset(
    {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "403"}
)
_NOT_FOUND = frozenset({"NoSuchKey", "404", "NotFound"})
# Failures below the S3 protocol: botocore's own, and aiohttp's while a body streams in.
_TRANSPORT = (BotoCoreError, aiohttp.ClientError, TimeoutError)


class S3BlobStore:
    """Objects under ``s3://bucket/prefix`` (see module docstring). The client opens on first use."""

    def __init__(self, location: S3Location, options: S3Options) -> None:
        self.location = location
        self._options = options
        self._stack: AsyncExitStack | None = None
        self._client: Any = None
        self._lock = asyncio.Lock()

    @property
    def description(self) -> str:
        where = f" at {self._options.endpoint_url}" if self._options.endpoint_url else ""
        return f"bucket {self.location}{where}"

    async def _s3(self) -> Any:
        async with self._lock:
            if self._client is None:
                opts = self._options
                config = Config(
                    connect_timeout=min(opts.timeout_s, 10.0),
                    read_timeout=opts.timeout_s,
                    retries={"max_attempts": opts.max_attempts, "mode": "standard"},
                    s3={"addressing_style": "path"} if opts.endpoint_url else None,
                    # Checksums only where S3 requires them: older MinIO, Ceph and R2 refuse the
                    # CRC trailers botocore adds to every PUT by default since 1.36.
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                )
                stack = AsyncExitStack()
                self._client = await stack.enter_async_context(
                    get_session().create_client(
                        "s3",
                        endpoint_url=opts.endpoint_url,
                        region_name=opts.region,
                        aws_access_key_id=opts.access_key_id,
                        aws_secret_access_key=opts.secret_access_key,
                        config=config,
                    )
                )
                self._stack = stack
            return self._client

    def _key(self, key: str) -> str:
        return self.location.prefix + key

    async def put(self, key: str, data: bytes) -> None:
        try:
            s3 = await self._s3()
            await s3.put_object(
                Bucket=self.location.bucket, Key=self._key(key), Body=data, ContentType="image/png"
            )
        except (ClientError, *_TRANSPORT) as exc:
            raise self._error(exc, f"write {key}") from exc

    async def get(self, key: str) -> bytes | None:
        try:
            s3 = await self._s3()
            reply = await s3.get_object(Bucket=self.location.bucket, Key=self._key(key))
            async with reply["Body"] as body:
                data: bytes = await body.read()
            return data
        except ClientError as exc:
            if _code(exc) in _NOT_FOUND:
                return None
            raise self._error(exc, f"read {key}") from exc
        except _TRANSPORT as exc:
            raise self._error(exc, f"read {key}") from exc

    async def delete_prefix(self, prefix: str) -> None:
        try:
            s3 = await self._s3()
            paginator = s3.get_paginator("list_objects_v2")
            async for page in paginator.paginate(Bucket=self.location.bucket, Prefix=self._key(prefix)):
                keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if keys:
                    await s3.delete_objects(
                        Bucket=self.location.bucket, Delete={"Objects": keys, "Quiet": True}
                    )
        except (ClientError, *_TRANSPORT) as exc:
            raise self._error(exc, f"delete {prefix}") from exc

    async def probe(self) -> str:
        key = f".probe/{uuid.uuid4().hex}"
        payload = uuid.uuid4().bytes
        try:
            s3 = await self._s3()
            await s3.head_bucket(Bucket=self.location.bucket)
        except ClientError as exc:
            if _code(exc) in _NOT_FOUND:  # HEAD has no body: a 404 is the bucket
                raise StorageUnavailable(log_detail=self._missing_bucket()) from exc
            raise self._error(exc, "check the bucket") from exc
        except _TRANSPORT as exc:
            raise self._error(exc, "check the bucket") from exc
        await self.put(key, payload)
        read_back = await self.get(key)
        await self.delete_prefix(".probe/")
        if read_back != payload:
            raise StorageError(log_detail=f"a probe object written to {self.description} read back different")
        return f"{self.description} is writable (probe object written, read back, deleted)"

    async def close(self) -> None:
        async with self._lock:
            if self._stack is not None:
                stack, self._stack, self._client = self._stack, None, None
                await stack.aclose()

    def _missing_bucket(self) -> str:
        return f"S3 bucket {self.location.bucket!r} does not exist on {self._endpoint()}: create it or fix EASEL_STORE_URL"

    def _endpoint(self) -> str:
        return self._options.endpoint_url or "AWS S3"

    def _error(self, exc: Exception, action: str) -> StorageError:
        """The storage error for ``exc``: which operator problem it is, never a credential."""
        if isinstance(exc, NoCredentialsError):
            detail = "no S3 credentials: set EASEL_S3_ACCESS_KEY_ID and EASEL_S3_SECRET_ACCESS_KEY (or AWS_*)"
        elif isinstance(exc, ClientError):
            code = _code(exc)
            if code in _MISSING_BUCKET:
                detail = self._missing_bucket()
            elif code in _DENIED:
                detail = (
                    f"S3 access denied ({code}) to bucket {self.location.bucket!r} on {self._endpoint()}: "
                    "check the access key, secret and the bucket policy"
                )
            else:
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
                detail = f"S3 said {code} (HTTP {status}) to {action} in {self.description}"
        else:  # connection refused, DNS, timeouts: botocore already retried
            detail = f"S3 endpoint {self._endpoint()} unreachable ({type(exc).__name__}) trying to {action}"
        return StorageUnavailable(log_detail=detail)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
