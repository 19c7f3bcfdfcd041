"""Credentials never reach a log, event, record, report or export: find them in an environment, mask them in text.

`secret_values(env)` picks the values of credential variables out of an environment mapping;
`Redactor(values).redact(text)` replaces each of them, and the encoded forms they take in URLs
and JSON, by `***`, and so the password of any ``scheme://user:password@host`` URL. The launcher applies one Redactor to every event and record, so redaction
is a single compiled regular expression: one pass over the text whatever the number of secrets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_LENGTH = 6
# A password written into a URL (``https://user:password@host/``, e.g. an S3 endpoint_url in
# criteria.toml) is masked wherever it appears, like the keys, whether or not it is known.
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)(?P<password>[^/\s@]+)@")

SECRET_NAMES = frozenset(
    {
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SESSION_TOKEN",
        "MLFLOW_TRACKING_PASSWORD",
        "MLFLOW_TRACKING_TOKEN",
    }
)
SECRET_SUFFIXES = ("_SECRET", "_PASSWORD", "_TOKEN", "_SECRET_ACCESS_KEY")


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    return upper in SECRET_NAMES or upper.endswith(SECRET_SUFFIXES)


def secret_values(env: Mapping[str, str]) -> list[str]:
    """Values of the credential variables in `env`, longest first, without duplicates.

    Values shorter than MIN_LENGTH are left out: masking "1" or "true" everywhere would garble
    every text while protecting nothing a real credential looks like.
    """
    found = {value for name, value in env.items() if is_secret_name(name) and isinstance(value, str)}
    return sorted((v for v in found if len(v) >= MIN_LENGTH), key=lambda v: (-len(v), v))


_ESCAPE = re.compile(r"(%[0-9A-Fa-f]{2})")


def _pattern(form: str) -> str:
    """A regex for one spelling; percent escapes match in any case (%2F, %2f), as URLs allow."""
    parts = _ESCAPE.split(form)
    return "".join(f"%(?i:{p[1:]})" if i % 2 else re.escape(p) for i, p in enumerate(parts))


def _forms(secret: str) -> set[str]:
    """The spellings a secret takes once it is put into a URL, a form body or a JSON string."""
    return {secret, quote(secret, safe=""), quote(secret), quote_plus(secret), json.dumps(secret)[1:-1]}


class Redactor:
    """Replaces known secrets in text and in nested data; its repr never shows them."""

    def __init__(self, secrets: Iterable[str], mask: str = MASK) -> None:
        self.mask = mask
        forms: set[str] = set()
        for secret in secrets:
            if secret:
                forms |= _forms(secret)
        # Longest first: Python tries alternatives left to right, so a secret that contains
        # another is masked whole instead of leaving its remainder visible.
        ordered = sorted(forms, key=lambda f: (-len(f), f))
        self._count = len(ordered)
        self._pattern = re.compile("|".join(map(_pattern, ordered))) if ordered else None

    @classmethod
    def from_env(cls, env: Mapping[str, str], mask: str = MASK) -> Redactor:
        return cls(secret_values(env), mask)

    def __bool__(self) -> bool:
        return self._pattern is not None

    def __repr__(self) -> str:
        return f"Redactor({self._count} patterns)"

    def redact(self, text: str) -> str:
        if not text:
            return text
        if "://" in text and "@" in text:
            text = _URL_PASSWORD.sub(lambda m: f"{m['head']}{self.mask}@", text)
        if self._pattern is None:
            return text
        return self._pattern.sub(self.mask, text)

    def redact_obj(self, obj: Any) -> Any:
        """`obj` with every string (keys included) redacted inside dicts, lists and tuples.

        A container in which nothing changed is returned as it is (no copy).
        """
        if isinstance(obj, str):
            return self.redact(obj)
        if isinstance(obj, dict):
            pairs = [(self.redact_obj(k), self.redact_obj(v)) for k, v in obj.items()]
            same = all(_same(a, k) and _same(b, v) for (a, b), (k, v) in zip(pairs, obj.items(), strict=True))
            return obj if same else dict(pairs)
        if isinstance(obj, list | tuple):
            items = [self.redact_obj(v) for v in obj]
            if all(_same(a, v) for a, v in zip(items, obj, strict=True)):
                return obj
            return items if isinstance(obj, list) else tuple(items)
        return obj


def _same(new: Any, old: Any) -> bool:
    return new is old or (isinstance(new, str) and new == old)
