"""moto's S3 REST server in a thread on 127.0.0.1, plus a plain boto3 client to look inside it.

The easel code under test talks to it with aiobotocore over HTTP, exactly as to MinIO or AWS;
the inspection client here is independent of easel, so tests see what really landed in the bucket.
moto keeps its buckets in process-wide state, so every test uses a bucket of its own.
"""

from __future__ import annotations

import logging
import urllib.request
import uuid
from typing import Any

import boto3
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

ACCESS_KEY = "testing-access-key"  # moto accepts any key until authentication is switched on
SECRET_KEY = "testing-secret-key"
REGION = "us-east-1"


class FakeS3:
    """``FakeS3().start()``; ``endpoint_url``; ``new_bucket()``; ``keys(bucket)``; ``stop()``."""

    def __init__(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.endpoint_url = ""
        self.running = False

    def start(self) -> FakeS3:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one INFO line per request otherwise
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        self.running = True
        return self

    def stop(self) -> None:
        if self.running:
            self.running = False
            self._server.stop()

    def client(self, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
        )

    def new_bucket(self) -> str:
        name = f"easel-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def read(self, bucket: str, key: str) -> bytes:
        body: bytes = self.client().get_object(Bucket=bucket, Key=key)["Body"].read()
        return body

    def write(self, bucket: str, key: str, data: bytes) -> None:
        self.client().put_object(Bucket=bucket, Key=key, Body=data)

    def iam_user(self) -> tuple[str, str]:
        """A user allowed everything on S3 (created while authentication is still off): its key pair."""
        iam = boto3.client(
            "iam",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )
        name = f"easel-{uuid.uuid4().hex[:8]}"
        iam.create_user(UserName=name)
        iam.put_user_policy(
            UserName=name,
            PolicyName="s3",
            PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}',
        )
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return str(key["AccessKeyId"]), str(key["SecretAccessKey"])

    def require_auth(self, on: bool) -> None:
        """Switch moto's signature and key checks on (every later request) or off again."""
        body = b"0" if on else b"inf"
        url = f"{self.endpoint_url}/moto-api/reset-auth"
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "text/plain"}
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            reply.read()
