"""Real servers for the tests, each on loopback on free ports, started and stopped by the tests themselves.

Nothing here needs Django, so benchmarks start them too, before the site is set up.
"""

import json
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config


def wait_for(condition, timeout=30):
    """Poll a condition that another process or thread will make true; fail after the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.05)
    raise AssertionError(f"Timed out after {timeout}s waiting for {condition}")


def free_ports(count):
    """Ports nobody listens on, all different (each held until all are chosen)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def stop(process, timeout=15):
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_redis(port, directory):
    redis = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=directory,
        stdout=subprocess.DEVNULL,
    )
    wait_for(lambda: subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout == b"PONG\n")
    return redis


@dataclass
class SeaweedFS:
    """A running SeaweedFS S3 gateway: a real S3 API that checks every request's signature."""

    endpoint: str
    bucket: str = "force-evidence"
    region: str = "eu-west-2"
    access_key: str = "tests-access-key"
    secret_key: str = "tests-secret-key"

    def client(self, secret_key=None):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
        )

    def storage_options(self, **options):
        """S3Storage options as config/settings.py builds them for OBJECT_STORAGE_BUCKET."""
        return {
            "bucket_name": self.bucket,
            "endpoint_url": self.endpoint,
            "region_name": self.region,
            "addressing_style": "path",
            "signature_version": "s3v4",
            "default_acl": None,
            "file_overwrite": False,
            "access_key": self.access_key,
            "secret_key": self.secret_key,
            **options,
        }

    def empty_bucket(self):
        client = self.client()
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            for item in page.get("Contents", []):
                client.delete_object(Bucket=self.bucket, Key=item["Key"])
        for upload in client.list_multipart_uploads(Bucket=self.bucket).get("Uploads", []):
            client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"])


def start_seaweedfs(weed, directory):
    """`weed mini` (master, volume, filer and S3 in one process) with one bucket and one identity."""
    directory = Path(directory)
    (directory / "data").mkdir()
    s3, s3_grpc, master, master_grpc, volume, volume_grpc, filer, filer_grpc, admin, admin_grpc = free_ports(10)
    server = SeaweedFS(endpoint=f"http://127.0.0.1:{s3}")
    identity = {"name": "tests", "credentials": [{"accessKey": server.access_key, "secretKey": server.secret_key}]}
    identity["actions"] = ["Admin", "Read", "Write", "List", "Tagging"]
    (directory / "s3.json").write_text(json.dumps({"identities": [identity]}))
    arguments = {
        "dir": directory / "data",
        "ip": "127.0.0.1",
        "ip.bind": "127.0.0.1",
        "s3.config": directory / "s3.json",
        "bucket": server.bucket,
        # Every port chosen here, and the parts the tests do not use turned off.
        "s3.port": s3,
        "s3.port.grpc": s3_grpc,
        "master.port": master,
        "master.port.grpc": master_grpc,
        "volume.port": volume,
        "volume.port.grpc": volume_grpc,
        "filer.port": filer,
        "filer.port.grpc": filer_grpc,
        "admin.port": admin,
        "admin.port.grpc": admin_grpc,
        "s3.port.iceberg": 0,
        "s3.port.lance": 0,
        "admin.ui": "false",
        "webdav": "false",
        # It would otherwise report to its makers over the internet.
        "master.telemetry": "false",
    }
    log = (directory / "weed.log").open("w")
    process = subprocess.Popen(
        [weed, "mini", *(f"-{name}={value}" for name, value in arguments.items())],
        cwd=directory,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    client = server.client()

    def bucket_answers():
        if process.poll() is not None:
            raise AssertionError(f"weed mini stopped: see {directory / 'weed.log'}")
        try:
            client.list_objects_v2(Bucket=server.bucket, MaxKeys=1)
        except Exception:
            time.sleep(0.1)
            return False
        return True

    try:
        wait_for(bucket_answers, timeout=60)
    except BaseException:
        stop(process)
        raise
    return process, server
