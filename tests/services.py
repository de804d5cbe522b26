"""Real servers for the tests and benchmarks, each on loopback on free ports, started and stopped by them.

Nothing here needs Django, so benchmarks start them too, before the site is set up.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import boto3
import requests
from botocore.config import Config
from honcho.environ import parse_procfile


def wait_for(condition, timeout=30):
    """Poll a condition that another process or thread will make true; fail after the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.05)
    raise AssertionError(f"Timed out after {timeout}s waiting for {condition}")


BASE_DIR = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


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


def find_tool(name):
    """A program from the virtualenv, PATH or the system folders nginx lives in; None if it is not installed."""
    return shutil.which(name, path=f"{BIN}:{os.environ['PATH']}:/usr/sbin:/sbin")


def tool(name):
    path = find_tool(name)
    if path is None:
        raise FileNotFoundError(f"`{name}` is not installed")
    return path


class Stack:
    """nginx with deploy/nginx/appeals.conf in front of deploy/Procfile's processes, everything in one folder.

    The environment must name the database (DATABASE_URL); the rest has values for one machine.
    """

    def __init__(self, directory, **environment):
        self.directory = directory
        self.https_port, self.http_port, self.web_port, self.uploads_port = free_ports(4)
        self.site_url = f"https://127.0.0.1:{self.https_port}"
        self.certificate = directory / "tls.pem"
        self.logs = directory / "logs"
        self.processes = []
        self.last_health = None
        self.procfile = parse_procfile((BASE_DIR / "deploy" / "Procfile").read_text()).processes
        self.environment = {
            **os.environ,
            "PATH": f"{BIN}:{os.environ['PATH']}",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "false",
            "SECRET_KEY": "stack-test-secret-key",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SITE_URL": self.site_url,
            "BEHIND_TLS_PROXY": "true",
            "CELERY_BROKER_URL": "",
            "CACHE_URL": "locmemcache://",
            # Its Redis, if any, is its own: not shared with the test process that started it.
            "REDIS_KEY_PREFIX": "",
            "EMAIL_URL": "consolemail://",
            "CLAMD_ADDRESS": "",
            "VAR_DIR": str(directory / "var"),
            "UPLOAD_DIR": str(directory / "uploads"),
            "WEB_BIND": f"127.0.0.1:{self.web_port}",
            "UPLOADS_BIND": f"127.0.0.1:{self.uploads_port}",
            **environment,
        }
        for folder in ("var", "uploads", "logs", "nginx", "cache"):
            (directory / folder).mkdir()

    def start(self, *processes, more_servers=""):
        """nginx (with more_servers, nginx server blocks of a benchmark's own, beside the site), and the
        named processes under honcho, as deploy/Procfile says to run them; returns once /healthz answers,
        and the tus endpoint too if the uploads' gunicorn is among them."""
        self.start_nginx(more_servers)
        if processes:
            honcho = [tool("honcho"), "--no-colour", "-e", "/dev/null", "-f", "deploy/Procfile", "start", *processes]
            self.spawn(honcho, "honcho.log", env=self.environment)
        try:
            wait_for(self.healthy, timeout=60)
            if "uploads" in processes:
                wait_for(self.taking_uploads, timeout=60)
        except AssertionError:
            raise AssertionError(f"The stack is not serving: {self.last_health}\n{self.log_tails()}") from None

    def start_nginx(self, more_servers=""):
        subprocess.run(
            [tool("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
             "-keyout", str(self.directory / "tls.key"), "-out", str(self.certificate)],
            check=True, capture_output=True,
        )  # fmt: skip
        site = subprocess.run(
            [BASE_DIR / "deploy" / "nginx" / "render"],
            env={
                "PATH": os.environ["PATH"],
                "SERVER_NAME": "127.0.0.1",
                "SITE_URL": self.site_url,
                "TLS_CERTIFICATE": str(self.certificate),
                "TLS_CERTIFICATE_KEY": str(self.directory / "tls.key"),
                "HTTPS_LISTEN": f"127.0.0.1:{self.https_port}",
                "HTTP_LISTEN": f"127.0.0.1:{self.http_port}",
                "APP_SERVER": f"127.0.0.1:{self.web_port}",
                "UPLOADS_SERVER": f"127.0.0.1:{self.uploads_port}",
                "EVIDENCE_ROOT": self.environment.get("EVIDENCE_ROOT", "/nonexistent"),
                "NGINX_CACHE_DIR": str(self.directory / "cache"),
                "NGINX_LOG_DIR": str(self.logs),
            },
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        (self.directory / "appeals.conf").write_text(site)
        temp = self.directory / "nginx"
        # What Debian's nginx.conf gives the site's file, with everything kept in this folder.
        (self.directory / "nginx.conf").write_text(f"""
            {"user root;" if os.geteuid() == 0 else ""}
            daemon off;
            worker_processes auto;
            pid {temp}/nginx.pid;
            error_log {self.logs}/error.log warn;
            events {{ worker_connections 768; }}
            http {{
                sendfile on;
                tcp_nopush on;
                gzip on;
                include /etc/nginx/mime.types;
                default_type application/octet-stream;
                client_body_temp_path {temp}/body;
                proxy_temp_path {temp}/proxy;
                fastcgi_temp_path {temp}/fastcgi;
                uwsgi_temp_path {temp}/uwsgi;
                scgi_temp_path {temp}/scgi;
                include {self.directory}/appeals.conf;
                {more_servers}
            }}
        """)
        nginx = [tool("nginx"), "-c", str(self.directory / "nginx.conf"), "-e", str(self.logs / "error.log")]
        self.spawn(nginx, "nginx.log")

    def start_process(self, name, cpus=None):
        """One of the Procfile's processes on its own, in a process group of its own so that it can be killed
        whole (kill()), and pinned to the given CPUs (taskset's list, e.g. "0") if any."""
        pinned = [tool("taskset"), "--cpu-list", cpus] if cpus else []
        log = f"{name}-{sum(1 for _ in self.logs.glob(f'{name}-*.log')) + 1}.log"
        command = [*pinned, "/bin/sh", "-c", self.procfile[name]]
        return self.spawn(command, log, env=self.environment, start_new_session=True)

    def kill(self, process):
        """SIGKILL to a process started by start_process and to its children, as when its machine dies."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def spawn(self, command, log, **options):
        with (self.logs / log).open("w") as output:
            process = subprocess.Popen(command, cwd=BASE_DIR, stdout=output, stderr=subprocess.STDOUT, **options)
        self.processes.append(process)
        return process

    def healthy(self):
        for process in self.processes:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args[0]} stopped:\n{self.log_tails()}")
        return self.answers("GET", "/healthz", 200)

    def taking_uploads(self):
        """Whether tus answers through nginx (a 502 until the uploads' gunicorn listens)."""
        return self.answers("OPTIONS", "/uploads", 204)

    def answers(self, method, path, status):
        """Whether a request through nginx gets the given status; what it got is kept in last_health."""
        try:
            response = self.session().request(method, self.url(path), timeout=30)
        except requests.RequestException as error:
            self.last_health = error
        else:
            self.last_health = f"{method} {path}: {response.status_code} {response.text[:500]}"
            if response.status_code == status:
                return True
        time.sleep(0.2)
        return False

    def log_tails(self):
        return "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in sorted(self.logs.iterdir()))

    def url(self, path):
        return urljoin(self.site_url, path)

    def session(self):
        session = requests.Session()
        # Only this stack's certificate, whatever CA bundle or proxy the environment names.
        session.trust_env = False
        session.verify = str(self.certificate)
        return session

    def stop(self):
        # All at once: a Celery worker takes seconds to shut down warm.
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
