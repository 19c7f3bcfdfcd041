"""Redaction of credentials: which variables count as secrets, and every spelling of them is masked."""

from __future__ import annotations

import json
import time
from urllib.parse import quote, quote_plus

from mlops_compare.infra.redaction import Redactor, secret_values

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCY=EXAMPLE"


def test_secret_values_picks_credential_variables_only():
    env = {
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE12345",
        "AWS_SESSION_TOKEN": "session-token-value",
        "MLFLOW_TRACKING_PASSWORD": "hunter2hunter2",
        "MLFLOW_TRACKING_TOKEN": "mlflow-token-1",
        "GITHUB_TOKEN": "ghp_abcdef",
        "DB_PASSWORD": "db-pass-word",
        "MY_SECRET": "my-secret-value",
        "MINIO_SECRET_ACCESS_KEY": "minio-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "HOME": "/root",
        "PATH": "/usr/bin",
        "SHORT_TOKEN": "abc",
        "TOKENIZER": "not-a-secret-name",
    }
    found = secret_values(env)
    assert set(found) == {
        SECRET,
        "AKIAEXAMPLE12345",
        "session-token-value",
        "hunter2hunter2",
        "mlflow-token-1",
        "ghp_abcdef",
        "db-pass-word",
        "my-secret-value",
        "minio-secret",
    }
    assert [len(v) for v in found] == sorted((len(v) for v in found), reverse=True)


def test_secret_values_of_empty_env():
    assert secret_values({}) == []


def test_redact_plain_and_url_encoded_forms():
    r = Redactor([SECRET])
    for form in (
        SECRET,
        quote(SECRET, safe=""),
        quote(SECRET),
        quote_plus(SECRET),
        quote(SECRET, safe="").replace("%2F", "%2f"),
        quote(SECRET, safe="").replace("%2B", "%2b"),
    ):
        text = f"before {form} after"
        assert r.redact(text) == "before *** after", form
    url = f"https://host/path?X-Amz-Secret={quote(SECRET, safe='')}&x=1"
    assert SECRET not in r.redact(url) and quote(SECRET, safe="") not in r.redact(url)
    assert r.redact(url).endswith("=***&x=1")


def test_redact_json_escaped_form():
    secret = 'pa"ss\\word-123'
    r = Redactor([secret])
    dumped = json.dumps({"password": secret})
    assert r.redact(dumped) == '{"password": "***"}'


def test_longer_secret_masked_whole_when_it_contains_a_shorter_one():
    r = Redactor(["abcdef", "xxabcdefyy"])
    assert r.redact("1 xxabcdefyy 2 abcdef 3") == "1 *** 2 *** 3"


def test_redact_obj_walks_nested_dicts_lists_and_tuples():
    r = Redactor.from_env({"AWS_SECRET_ACCESS_KEY": SECRET, "HOME": "/root"})
    event = {
        "type": "log",
        "data": {"lines": [f"export AWS_SECRET_ACCESS_KEY={SECRET}", "ok"], "pair": ("a", SECRET)},
        SECRET: 1,
        "n": 3.5,
        "none": None,
    }
    out = r.redact_obj(event)
    assert SECRET not in json.dumps(out)
    assert out["data"]["lines"] == ["export AWS_SECRET_ACCESS_KEY=***", "ok"]
    assert out["data"]["pair"] == ("a", "***")
    assert out["***"] == 1 and out["n"] == 3.5 and out["none"] is None and out["type"] == "log"
    assert event["data"]["lines"][0].endswith(SECRET), "the input is not modified"


def test_without_secrets_text_is_untouched():
    r = Redactor([])
    assert not r
    assert r.redact("anything") == "anything"
    obj = {"a": [1]}
    assert r.redact_obj(obj) is obj


def test_repr_shows_no_secret():
    r = Redactor([SECRET])
    assert SECRET not in repr(r) and "patterns" in repr(r)


def test_long_text_is_fast():
    secrets_ = [f"secret-value-{i:04d}-xyz" for i in range(20)]
    r = Redactor(secrets_)
    text = ("lorem ipsum dolor sit amet " * 400_000) + secrets_[7]
    start = time.perf_counter()
    out = r.redact(text)
    elapsed = time.perf_counter() - start
    assert out.endswith("***")
    assert elapsed < 2.0, elapsed
