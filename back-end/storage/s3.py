"""Objects in an S3 bucket (AWS, MinIO, …) through boto3: `s3://<bucket>/<key>`."""

from pathlib import Path
from typing import Any, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from storage.base import ObjectNotFound

SCHEME = "s3"


class S3Storage:
    scheme = SCHEME

    def __init__(self, bucket: str, client: Any) -> None:
        self.bucket = bucket
        self.client = client

    @classmethod
    def connect(
        cls,
        bucket: str,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> "S3Storage":
        client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=Config(connect_timeout=5, read_timeout=60, retries={"mode": "standard", "max_attempts": 3}),
        )
        return cls(bucket, client)

    def url(self, key: str) -> str:
        return f"{SCHEME}://{self.bucket}/{key}"

    def put(self, key: str, source: BinaryIO) -> str:
        self.client.upload_fileobj(source, self.bucket, key)  # multipart, streamed in parts
        return self.url(key)

    def fetch(self, url: str, destination: Path) -> None:
        bucket, key = self._split(url)
        try:
            self.client.download_file(bucket, key, str(destination))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NoSuchBucket"):
                raise ObjectNotFound(url) from exc
            raise

    def delete(self, url: str) -> None:
        bucket, key = self._split(url)
        self.client.delete_object(Bucket=bucket, Key=key)

    @staticmethod
    def _split(url: str) -> tuple[str, str]:
        bucket, _, key = url.removeprefix(f"{SCHEME}://").partition("/")
        if not url.startswith(f"{SCHEME}://") or not bucket or not key:
            raise ObjectNotFound(url)
        return bucket, key
