"""The exam's own S3-compatible endpoint, and a quick probe of any endpoint before a check uses it.

`LocalS3` runs `moto_server` (from the `moto[server]` package: Debian ships no MinIO) on a free
port of 127.0.0.1 for the length of a run, with throwaway credentials, and creates the bucket.
The server stays in the caller's process group so that the runner's group kill on cancel also
ends it. `probe` checks that an endpoint answers, the bucket exists and the credentials may write
under the prefix, and turns the library's error into one line with a hint, in seconds.

boto3 is imported inside the functions: the core must import fast and without it.
Credentials appear in `LocalS3.env` only, never in a repr, an error message or a probe reason.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlops_compare.infra.redaction import Redactor, secret_values

DEFAULT_BUCKET = "mlops-compare"
DEFAULT_PREFIX = "exam"
DEFAULT_REGION = "us-east-1"
HOST = "127.0.0.1"
LOG_TAIL_CHARS = 2000


class S3EndpointError(RuntimeError):
    """The local S3 endpoint could not be started or prepared; the message says why."""


@dataclass(frozen=True)
class S3Settings:
    """Where the S3 remote is; credentials are deliberately not part of it (they come from the environment)."""

    endpoint_url: str | None
    bucket: str
    prefix: str = DEFAULT_PREFIX
    region: str = DEFAULT_REGION

    @property
    def url(self) -> str:
        """The remote as tools spell it: s3://bucket/prefix."""
        prefix = self.prefix.strip("/")
        return f"s3://{self.bucket}/{prefix}" if prefix else f"s3://{self.bucket}"


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _random_credentials() -> tuple[str, str]:
    upper = string.ascii_uppercase + string.digits
    key_id = "AKIA" + "".join(secrets.choice(upper) for _ in range(16))
    secret = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40))
    return key_id, secret


class LocalS3:
    """A moto_server child process with a bucket and per-run credentials; use it as a context manager.

    With `auth=True` the server checks signatures (moto's IAM emulation): the credentials are then
    an access key moto created for an IAM user allowed everything, and a wrong secret is rejected
    with SignatureDoesNotMatch, as a real endpoint would. Without it moto accepts any credentials.
    """

    def __init__(
        self,
        bucket: str = DEFAULT_BUCKET,
        *,
        prefix: str = DEFAULT_PREFIX,
        region: str = DEFAULT_REGION,
        auth: bool = False,
        startup_timeout: float = 20.0,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.region = region
        self.auth = auth
        self.startup_timeout = startup_timeout
        self.port: int | None = None
        self.process: subprocess.Popen | None = None
        self.started_seconds: float | None = None
        self._key_id, self._secret = _random_credentials()
        self._workdir: tempfile.TemporaryDirectory | None = None
        self._log_path: Path | None = None

    # -- what callers use -------------------------------------------------------------------
    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            raise S3EndpointError("the local S3 endpoint is not started")
        return f"http://{HOST}:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        """The only variables a client needs; nothing from the user's real environment."""
        return {
            "AWS_ACCESS_KEY_ID": self._key_id,
            "AWS_SECRET_ACCESS_KEY": self._secret,
            "AWS_DEFAULT_REGION": self.region,
        }

    @property
    def settings(self) -> S3Settings:
        return S3Settings(self.endpoint_url, self.bucket, self.prefix, self.region)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __repr__(self) -> str:
        where = f"http://{HOST}:{self.port}" if self.port is not None else "not started"
        state = "running" if self.running else "stopped"
        return f"LocalS3({where}, bucket={self.bucket!r}, auth={self.auth}, {state})"

    def __enter__(self) -> LocalS3:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- life cycle -------------------------------------------------------------------------
    def _command(self, port: int) -> list[str]:
        # The same interpreter as ours rather than whichever `moto_server` is first on PATH.
        return [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)]

    def _server_env(self) -> dict[str, str]:
        # The server needs no credentials; keeping the user's real AWS variables away from it
        # means nothing it logs or dumps can contain them.
        return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}

    def start(self) -> LocalS3:
        if self.running:
            return self
        began = time.monotonic()
        self._workdir = tempfile.TemporaryDirectory(prefix="mlops-compare-s3-")
        self._log_path = Path(self._workdir.name) / "moto_server.log"
        # Binding port 0 then releasing it leaves a short race with other programs; a server
        # that dies at once (port taken) is retried on a new port.
        for attempt in range(3):
            self.port = free_port()
            with open(self._log_path, "ab") as log:
                # No start_new_session: the server must stay in the caller's process group.
                self.process = subprocess.Popen(
                    self._command(self.port),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=self._server_env(),
                )
            try:
                self._wait_until_answering(began + self.startup_timeout)
                break
            except S3EndpointError:
                died = self.process.poll() is not None
                if not died or attempt == 2 or time.monotonic() >= began + self.startup_timeout:
                    self.stop()
                    raise
        try:
            self._prepare()
        except Exception as exc:
            tail = self._log_tail()
            self.stop()
            raise S3EndpointError(
                self._clean(f"local S3 endpoint started but could not be prepared: {exc}\n{tail}")
            ) from None
        self.started_seconds = time.monotonic() - began
        return self

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        elif process is not None:
            process.wait()
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def _log_tail(self) -> str:
        try:
            text = self._log_path.read_text(errors="replace") if self._log_path else ""
        except OSError:
            text = ""
        return text[-LOG_TAIL_CHARS:].strip() or "(no output)"

    def _clean(self, text: str) -> str:
        return Redactor(secret_values(self.env)).redact(text)

    def _wait_until_answering(self, deadline: float) -> None:
        assert self.process is not None, "started"
        while True:
            if self.process.poll() is not None:
                raise S3EndpointError(
                    self._clean(
                        f"moto_server exited with code {self.process.returncode} before answering "
                        f"(is moto[server] installed?); its output:\n{self._log_tail()}"
                    )
                )
            if self._request("GET", "/moto-api/config", timeout=1.0) is not None:
                return
            if time.monotonic() >= deadline:
                raise S3EndpointError(
                    self._clean(
                        f"moto_server did not answer at {self.endpoint_url} within {self.startup_timeout:g} s; "
                        f"its output:\n{self._log_tail()}"
                    )
                )
            time.sleep(0.05)

    def _request(self, method: str, path: str, body: bytes | None = None, timeout: float = 5.0) -> int | None:
        """The HTTP status of one request to the server, or None when nothing answers."""
        import http.client  # here: the core reads DEFAULT_* at every start (criteria.load), http.client costs ~20 ms

        conn = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body)
            response = conn.getresponse()
            response.read()
            return response.status
        except OSError:
            return None
        finally:
            conn.close()

    def _client(self, service: str, key_id: str, secret: str):
        import boto3
        from botocore.config import Config

        config = Config(connect_timeout=5, read_timeout=30, retries={"total_max_attempts": 1})
        return boto3.session.Session().client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            config=config,
        )

    def _prepare(self) -> None:
        if self.auth:
            # moto only checks signatures for keys its IAM knows: make a user allowed everything
            # and use the key moto generates for it (random per server, like ours).
            iam = self._client("iam", self._key_id, self._secret)
            iam.create_user(UserName="mlops-compare")
            policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
            iam.put_user_policy(UserName="mlops-compare", PolicyName="everything", PolicyDocument=json.dumps(policy))
            key = iam.create_access_key(UserName="mlops-compare")["AccessKey"]
            self._key_id, self._secret = key["AccessKeyId"], key["SecretAccessKey"]
        s3 = self._client("s3", self._key_id, self._secret)
        kwargs = (
            {} if self.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": self.region}}
        )
        s3.create_bucket(Bucket=self.bucket, **kwargs)
        if self.auth:
            # From now on every request is authenticated (moto counts unauthenticated actions
            # from this reset; 0 means none are allowed).
            status = self._request("POST", "/moto-api/reset-auth", body=b"0")
            if status != 200:
                raise S3EndpointError(f"moto refused to switch authentication on (HTTP {status})")


# -- probe -----------------------------------------------------------------------------------
CREDENTIAL_CODES = frozenset(
    {"SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidClientTokenId", "InvalidToken", "ExpiredToken"}
)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def probe(settings: S3Settings, env: Mapping[str, str], timeout: float = 5) -> str | None:
    """None when the endpoint answers, the bucket exists and a small object can be written and
    deleted under the prefix; otherwise one line: the hint, then the library's own message.

    Credentials come from `env` (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY[/AWS_SESSION_TOKEN], or
    AWS_PROFILE); with neither, boto3's default chain applies. Each network step has `timeout`
    seconds to connect and to read, and is tried once: a closed port fails at once.
    """
    redactor = Redactor(secret_values(env))
    where = settings.endpoint_url or "the AWS default endpoint"
    try:
        reason = _probe(settings, env, timeout, where)
    except Exception as exc:  # anything unexpected still becomes a reason, never a traceback
        reason = f"S3 probe of {where} failed: {type(exc).__name__}: {exc}"
    return None if reason is None else redactor.redact(_one_line(reason))


def _probe(settings: S3Settings, env: Mapping[str, str], timeout: float, where: str) -> str | None:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionClosedError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
        ProfileNotFound,
        ReadTimeoutError,
    )

    bucket = settings.bucket
    region = settings.region or env.get("AWS_DEFAULT_REGION") or env.get("AWS_REGION") or DEFAULT_REGION
    # Path-style addressing: self-hosted endpoints (MinIO, Ceph, moto) are addressed by host or
    # IP without per-bucket DNS names; AWS itself keeps the default.
    s3_config = {"addressing_style": "path"} if settings.endpoint_url else {}
    # total_max_attempts=1 means exactly one try: botocore's `max_attempts` counts retries on top.
    config = Config(
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"total_max_attempts": 1},
        s3=s3_config,
    )
    try:
        if env.get("AWS_ACCESS_KEY_ID") or env.get("AWS_SECRET_ACCESS_KEY"):
            session = boto3.session.Session(
                aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
                aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
                aws_session_token=env.get("AWS_SESSION_TOKEN"),
                region_name=region,
            )
        else:
            session = boto3.session.Session(profile_name=env.get("AWS_PROFILE"), region_name=region)
        client = session.client("s3", endpoint_url=settings.endpoint_url or None, config=config)
    except ProfileNotFound as exc:
        return f"AWS profile not found: check AWS_PROFILE ({exc})"
    except ValueError as exc:
        return f"not a usable endpoint URL {where!r}: fix [exam.storage.s3] endpoint_url ({exc})"

    prefix = settings.prefix.strip("/")
    key = (
        f"{prefix}/.mlops-compare-probe-{secrets.token_hex(4)}"
        if prefix
        else f".mlops-compare-probe-{secrets.token_hex(4)}"
    )
    try:
        # A listing, not head_bucket: HEAD answers carry no error code, so a wrong secret and a
        # missing permission would both read "403".
        client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
        client.put_object(Bucket=bucket, Key=key, Body=b"mlops-compare probe\n")
        client.delete_object(Bucket=bucket, Key=key)
    except (EndpointConnectionError, ConnectionClosedError) as exc:
        return f"nothing answers at {where}: is the server running? ({exc})"
    except ReadTimeoutError as exc:
        return f"{where} accepted the connection but did not answer within {timeout:g} s ({exc})"
    except (NoCredentialsError, PartialCredentialsError) as exc:
        return f"no usable credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE ({exc})"
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in CREDENTIAL_CODES:
            return f"credentials rejected ({code}): check AWS_SECRET_ACCESS_KEY or AWS_PROFILE ({exc})"
        if code == "NoSuchBucket":
            return f"no bucket {bucket}: create it or fix [exam.storage.s3] bucket ({exc})"
        if code.isdigit():
            # S3 always names its errors on a listing; a bare status is a web server or proxy
            # that is not S3, so "no bucket" or "denied" would send the user the wrong way.
            return (
                f"{where} answered HTTP {code} without an S3 error code: is it an S3-compatible endpoint? "
                f"Check [exam.storage.s3] endpoint_url ({exc})"
            )
        if code in {"AccessDenied", "AllAccessDisabled"}:
            return (
                f"access denied to s3://{bucket}/{prefix}: the credentials need list, put and delete "
                f"rights there ({exc})"
            )
        return f"S3 endpoint {where} refused the probe ({code or 'no error code'}): {exc}"
    except BotoCoreError as exc:
        # ConnectTimeoutError is an EndpointConnectionError; what is left here are other
        # transport problems (SSL, proxy, malformed answers).
        return f"S3 endpoint {where} could not be used: {type(exc).__name__}: {exc}"
    return None
