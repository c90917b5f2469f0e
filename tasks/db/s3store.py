"""S3-compatible offsite storage (DigitalOcean Spaces in production) through boto3."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ..core.envconfig import S3Spec
from ..core.errors import BadInput, CheckFailed
from ..core.secrets import Secrets
from .sets import MANIFEST, VERIFIED, SetInfo, parse_id

# Multipart threshold and part size (S3's minimum part is 5 MB).
PART = max(5, int(os.environ.get("STACK_S3_PART_MB", "64"))) * 1024 * 1024
# Below this a file goes in one PUT, read whole and sent with its Content-MD5 (the server
# checks it; its ETag answers it): one request instead of a PUT and a HEAD. Memory stays
# bounded by TRANSFERS x SMALL.
SMALL = min(PART, 4 * 1024 * 1024)
# Files in flight at once: a dump is one file per table (hundreds for Odoo), and over a
# WAN each request costs a round trip, so they go side by side.
TRANSFERS = max(1, int(os.environ.get("STACK_S3_TRANSFERS", "16")))


def etag_candidates(path: Path, part: int = PART) -> set[str]:
    """ETags an S3 server may report for this file uploaded with our part size: AWS and
    DigitalOcean Spaces give md5-of-part-md5s "-N" for multipart uploads; some
    S3-compatible servers give the plain md5 of the whole object."""
    whole = hashlib.md5(usedforsecurity=False)
    digests = []
    with path.open("rb") as fh:
        while chunk := fh.read(part):
            whole.update(chunk)
            digests.append(hashlib.md5(chunk, usedforsecurity=False).digest())
    out = {whole.hexdigest()}
    if path.stat().st_size >= part:
        out.add(
            hashlib.md5(b"".join(digests), usedforsecurity=False).hexdigest() + f"-{len(digests)}"
        )
    return out


def _no_continue_if_small(model, params: dict, **_kw) -> None:
    # Runs after botocore's own handler (registered last on the same event).
    from botocore.utils import determine_content_length

    if model.name != "PutObject":
        return
    size = determine_content_length(params.get("body"))
    if size is not None and size < SMALL:
        params["headers"].pop("Expect", None)


class S3Store:
    def __init__(self, spec: S3Spec, secrets: Secrets):
        import boto3
        from botocore.config import Config

        key = secrets.require("S3_ACCESS_KEY_ID", "offsite backups to S3")
        secret = secrets.require("S3_SECRET_ACCESS_KEY", "offsite backups to S3")
        self.spec = spec
        self.client = boto3.client(
            "s3",
            endpoint_url=spec.endpoint,
            region_name=spec.region or "us-east-1",
            aws_access_key_id=key.reveal(),
            aws_secret_access_key=secret.reveal(),
            config=Config(
                connect_timeout=10,
                read_timeout=120,
                retries={"max_attempts": 3, "mode": "standard"},
                # Checksums are ours (sha256 in the manifest, ETag after upload); not every
                # S3-compatible server accepts the newer flexible-checksum headers.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                # TRANSFERS files, a multipart upload's parts among them.
                max_pool_connections=TRANSFERS + 8,
            ),
        )
        # botocore asks every PUT to wait for "100 Continue" first: one more round trip
        # per file, for hundreds of small dump files. Small bodies are simply sent.
        self.client.meta.events.register_last("before-call.s3", _no_continue_if_small)
        from boto3.s3.transfer import TransferConfig

        self.transfer = TransferConfig(
            multipart_threshold=PART, multipart_chunksize=PART, max_concurrency=4
        )

    @property
    def where(self) -> str:
        return f"s3://{self.spec.bucket}/{self.spec.prefix}".rstrip("/")

    def key(self, set_id: str, rel: str = "") -> str:
        parts = [p for p in (self.spec.prefix, set_id, rel) if p]
        return "/".join(parts)

    def _fail(self, what: str, e: Exception) -> CheckFailed:
        return CheckFailed(
            f"{what} ({self.where}): {type(e).__name__}: {e}",
            hint="check the S3 endpoint and credentials; re-run to retry",
        )

    def _objects(self, prefix: str):
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.spec.bucket, Prefix=prefix
        )
        for page in pages:
            yield from page.get("Contents", [])

    def list_sets(self) -> list[SetInfo]:
        from botocore.exceptions import BotoCoreError, ClientError

        base = self.key("") + "/" if self.spec.prefix else ""
        sizes: dict[str, int] = {}
        complete: set[str] = set()
        verified: set[str] = set()
        try:
            for obj in self._objects(base):
                rel = obj["Key"][len(base) :]
                set_id, _, name = rel.partition("/")
                if not parse_id(set_id):
                    continue
                sizes[set_id] = sizes.get(set_id, 0) + obj["Size"]
                if name == MANIFEST:
                    complete.add(set_id)
                elif name == VERIFIED:
                    verified.add(set_id)
        except (BotoCoreError, ClientError) as e:
            raise self._fail("cannot list backups", e) from None
        out = []
        for set_id in sorted(complete):
            when, label = parse_id(set_id)  # type: ignore[misc]
            info = SetInfo(set_id, when, label, sizes[set_id], None, ["s3"])
            if set_id in verified:
                info.verified = self.get_json(set_id, VERIFIED)
            out.append(info)
        return out

    def get_json(self, set_id: str, rel: str) -> dict | None:
        try:
            body = self.client.get_object(Bucket=self.spec.bucket, Key=self.key(set_id, rel))
            return json.loads(body["Body"].read())
        except Exception:
            return None

    def upload_file(self, path: Path, key: str) -> None:
        """One file, its checksum confirmed by the server: a small one in a single PUT with
        its Content-MD5, a bigger one (multipart above PART) with its ETag read back."""
        import base64

        from botocore.exceptions import BotoCoreError, ClientError

        try:
            if path.stat().st_size < SMALL:
                body = path.read_bytes()
                md5 = hashlib.md5(body, usedforsecurity=False)
                etag = self.client.put_object(
                    Bucket=self.spec.bucket,
                    Key=key,
                    Body=body,
                    ContentMD5=base64.b64encode(md5.digest()).decode(),
                )["ETag"].strip('"')
                expected = {md5.hexdigest()}
            else:
                self.client.upload_file(str(path), self.spec.bucket, key, Config=self.transfer)
                etag = self.client.head_object(Bucket=self.spec.bucket, Key=key)["ETag"]
                etag, expected = etag.strip('"'), etag_candidates(path)
        except (BotoCoreError, ClientError) as e:
            raise self._fail(f"upload of {path.name} failed", e) from None
        if etag not in expected:
            raise CheckFailed(
                f"upload of {path} to {key}: checksum differs after upload",
                hint="re-run to upload it again",
            )

    def upload_set(self, set_dir: Path, manifest: dict) -> None:
        """Artifacts first (TRANSFERS at a time, biggest first), manifest last: until the
        manifest lands the set is not listed."""
        from ..core.parallel import run_parallel

        arts = sorted(manifest["artifacts"], key=lambda a: -a["bytes"])
        run_parallel(
            [a["path"] for a in arts],
            lambda rel: self.upload_file(set_dir / rel, self.key(set_dir.name, rel)),
            TRANSFERS,
            f"uploading {set_dir.name}",
        )
        if (set_dir / VERIFIED).is_file():
            self.upload_file(set_dir / VERIFIED, self.key(set_dir.name, VERIFIED))
        self.upload_file(set_dir / MANIFEST, self.key(set_dir.name, MANIFEST))

    def put_json(self, set_id: str, rel: str, data: dict) -> None:
        self.client.put_object(
            Bucket=self.spec.bucket,
            Key=self.key(set_id, rel),
            Body=json.dumps(data, indent=2).encode(),
        )

    def download_set(self, set_id: str, dest: Path) -> dict:
        from botocore.exceptions import BotoCoreError, ClientError

        from ..core.parallel import run_parallel
        from .sets import load_manifest

        dest.mkdir(parents=True, exist_ok=True)
        try:
            self.client.download_file(
                self.spec.bucket, self.key(set_id, MANIFEST), str(dest / MANIFEST)
            )
        except ClientError as e:
            raise BadInput(
                f"backup {set_id} not found in {self.where} ({e})",
                hint="see: invoke db.list --env <env>",
            ) from None
        manifest = load_manifest(dest / MANIFEST)
        arts = sorted(manifest["artifacts"], key=lambda a: -a["bytes"])
        for a in arts:
            (dest / a["path"]).parent.mkdir(parents=True, exist_ok=True)

        def get(a: dict) -> None:
            key, target = self.key(set_id, a["path"]), dest / a["path"]
            if a["bytes"] < SMALL:  # one GET (download_file sends a HEAD first)
                body = self.client.get_object(Bucket=self.spec.bucket, Key=key)["Body"]
                target.write_bytes(body.read())
            else:
                self.client.download_file(self.spec.bucket, key, str(target), Config=self.transfer)

        try:
            run_parallel(arts, get, TRANSFERS, f"downloading {set_id}", name=lambda a: a["path"])
        except (BotoCoreError, ClientError) as e:
            raise self._fail(f"download of {set_id} failed", e) from None
        return manifest

    def delete_set(self, set_id: str) -> None:
        # The manifest goes first, so a half-deleted set is no longer listed as complete.
        self.client.delete_object(Bucket=self.spec.bucket, Key=self.key(set_id, MANIFEST))
        keys = [{"Key": o["Key"]} for o in self._objects(self.key(set_id) + "/")]
        for i in range(0, len(keys), 1000):
            self.client.delete_objects(
                Bucket=self.spec.bucket, Delete={"Objects": keys[i : i + 1000], "Quiet": True}
            )

    def check_bucket(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.spec.bucket)
        except (BotoCoreError, ClientError) as e:
            raise BadInput(
                f"S3 bucket {self.spec.bucket!r} at {self.spec.endpoint or 'AWS'} "
                f"is not usable: {e}",
                hint="check [env.<name>.backup] s3 and the S3_* keys in .env",
            ) from None
