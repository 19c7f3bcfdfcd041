"""The exam's own S3 endpoint (a real moto_server) and the endpoint probe's reasons, in seconds."""

from __future__ import annotations

import hashlib
import os
import socket
import sys
import time

import pytest
from mlops_compare.infra.s3_endpoint import LocalS3, S3EndpointError, S3Settings, free_port, probe

pytest.importorskip("boto3")
pytest.importorskip("moto.server")


def client(s3: LocalS3, env: dict | None = None):
    import boto3

    env = env or s3.env
    return boto3.client(
        "s3",
        endpoint_url=s3.endpoint_url,
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def local_s3():
    with LocalS3(bucket="exam-bucket") as s3:
        yield s3


def test_round_trip_of_1mb_then_stop_leaves_no_process():
    payload = os.urandom(1024 * 1024)
    with LocalS3() as s3:
        pid, port = s3.process.pid, s3.port
        # Same process group as ours: the runner's group kill on cancel reaches the server.
        assert os.getpgid(pid) == os.getpgid(0)
        c = client(s3)
        c.put_object(Bucket=s3.bucket, Key="exam/blob.bin", Body=payload)
        back = c.get_object(Bucket=s3.bucket, Key="exam/blob.bin")["Body"].read()
        assert hashlib.sha256(back).digest() == hashlib.sha256(payload).digest()
        assert s3.started_seconds is not None and s3.started_seconds < 20
    assert not s3.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not port_open(port)


def test_env_has_only_throwaway_credentials(local_s3, monkeypatch):
    env = local_s3.env
    assert set(env) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"}
    assert env["AWS_SECRET_ACCESS_KEY"] != os.environ.get("AWS_SECRET_ACCESS_KEY")
    other = LocalS3()
    assert other.env["AWS_SECRET_ACCESS_KEY"] != env["AWS_SECRET_ACCESS_KEY"], "random per run"
    assert other.env["AWS_ACCESS_KEY_ID"] != env["AWS_ACCESS_KEY_ID"]


def test_repr_and_settings_carry_no_secret(local_s3):
    text = repr(local_s3) + repr(local_s3.settings) + str(local_s3.settings)
    for value in local_s3.env.values():
        if value != local_s3.region:
            assert value not in text
    assert local_s3.endpoint_url in repr(local_s3)
    assert local_s3.settings.url == "s3://exam-bucket/exam"


def test_probe_fine_endpoint(local_s3):
    assert probe(local_s3.settings, local_s3.env) is None
    # The probe cleans up after itself.
    listed = client(local_s3).list_objects_v2(Bucket=local_s3.bucket, Prefix="exam/.mlops-compare-probe")
    assert listed["KeyCount"] == 0


def test_probe_closed_port_answers_in_seconds(local_s3):
    port = free_port()
    settings = S3Settings(f"http://127.0.0.1:{port}", "exam-bucket")
    start = time.monotonic()
    reason = probe(settings, local_s3.env, timeout=2)
    assert time.monotonic() - start < 5
    assert reason is not None and reason.startswith(
        f"nothing answers at http://127.0.0.1:{port}: is the server running?"
    )
    assert "\n" not in reason


def test_probe_missing_bucket(local_s3):
    settings = S3Settings(local_s3.endpoint_url, "no-such-bucket")
    reason = probe(settings, local_s3.env)
    assert reason is not None and reason.startswith(
        "no bucket no-such-bucket: create it or fix [exam.storage.s3] bucket"
    )
    assert "NoSuchBucket" in reason


def test_probe_without_credentials_gives_a_hint(local_s3, monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    reason = probe(local_s3.settings, {"AWS_PROFILE": "no-such-profile"})
    assert reason is not None and "AWS_PROFILE" in reason


def test_with_auth_a_wrong_secret_is_rejected_and_never_shown():
    with LocalS3(auth=True) as s3:
        assert probe(s3.settings, s3.env) is None
        c = client(s3)
        c.put_object(Bucket=s3.bucket, Key="exam/x", Body=b"x")
        wrong = {**s3.env, "AWS_SECRET_ACCESS_KEY": "W" * 40}
        start = time.monotonic()
        reason = probe(s3.settings, wrong)
        assert time.monotonic() - start < 5
        assert reason is not None and reason.startswith(
            "credentials rejected (SignatureDoesNotMatch): check AWS_SECRET_ACCESS_KEY or AWS_PROFILE"
        )
        unknown = {**s3.env, "AWS_ACCESS_KEY_ID": "AKIANOSUCHKEY0000000"}
        reason2 = probe(s3.settings, unknown)
        assert reason2 is not None and reason2.startswith("credentials rejected (InvalidAccessKeyId)")
        for value in (*s3.env.values(), "W" * 40, "AKIANOSUCHKEY0000000"):
            if value != s3.region:
                assert value not in reason + reason2 + repr(s3)


def test_a_server_that_never_answers_gives_an_error_with_its_output(monkeypatch):
    script = "import time; print('pretend server starting', flush=True); time.sleep(60)"
    monkeypatch.setattr(LocalS3, "_command", lambda self, port: [sys.executable, "-c", script])
    s3 = LocalS3(startup_timeout=1)
    start = time.monotonic()
    with pytest.raises(S3EndpointError, match="did not answer") as info:
        s3.start()
    assert time.monotonic() - start < 10
    assert "pretend server starting" in str(info.value)
    assert not s3.running


def test_a_server_that_exits_gives_an_error_with_its_output(monkeypatch):
    script = "import sys; print('no such module moto', flush=True); sys.exit(3)"
    monkeypatch.setattr(LocalS3, "_command", lambda self, port: [sys.executable, "-c", script])
    with pytest.raises(S3EndpointError, match="exited with code 3") as info:
        LocalS3(startup_timeout=5).start()
    assert "no such module moto" in str(info.value)


def test_probe_of_a_silent_server_times_out():
    # The kernel completes the connection from the listen backlog, but nobody ever answers.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        env = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE0000", "AWS_SECRET_ACCESS_KEY": "x" * 40}
        start = time.monotonic()
        reason = probe(S3Settings(f"http://127.0.0.1:{port}", "exam-bucket"), env, timeout=1)
        assert time.monotonic() - start < 4
    assert reason is not None and "did not answer within 1 s" in reason
    assert "x" * 40 not in reason


def test_probe_of_a_web_server_that_is_not_s3():
    import http.server
    import threading

    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE0000", "AWS_SECRET_ACCESS_KEY": "x" * 40}
        reason = probe(S3Settings(f"http://127.0.0.1:{server.server_port}", "exam-bucket"), env)
    finally:
        server.shutdown()
        server.server_close()
    assert reason is not None and "without an S3 error code" in reason
