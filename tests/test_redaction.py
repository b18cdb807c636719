"""The one redactor (nbtrack.redaction): key names, URLs and text, value trees, the %%track line.
Every form the review found missing is here, beside names that must stay visible."""

from __future__ import annotations

import pytest

from nbtrack.redaction import (
    REDACTED,
    redact_text,
    redact_track_line,
    redact_tree,
    redact_value,
    secret_key,
)
from nbtrack.validation import check_param, check_tag


@pytest.mark.parametrize(
    "key",
    [
        "api key",
        "api_key",
        "apikey",
        "API-Key",
        "apiKey",
        "passphrase",
        "db_pass",
        "dbPass",
        "private.key",
        "private_key",
        "secret",
        "client_secret",
        "token",
        "GITHUB_TOKEN",
        "hf_token",
        "authToken",
        "password",
        "DB_PASSWORD",
        "passwd",
        "pwd",
        "credentials",
        "aws_access_key_id",
        "Authorization",
        "auth",
    ],
)
def test_secret_key_names_are_recognised(key: str) -> None:
    assert secret_key(key)
    assert redact_value(key, "s3cr3t") == REDACTED


@pytest.mark.parametrize(
    "key", ["lr", "tokenizer", "max_tokens", "author", "n_passes", "bypass_cache", "key", "path"]
)
def test_ordinary_names_stay_visible(key: str) -> None:
    assert not secret_key(key)
    assert redact_value(key, "value") == "value"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://bob:pw@db.example/x", "postgresql://[redacted]@db.example/x"),
        ("redis://:pw@host:6379/0", "redis://[redacted]@host:6379/0"),
        ("postgres://u:p@ss@host/db", "postgres://[redacted]@host/db"),
        (
            "https://api.example/v1?api_key=AAA&token=BBB&page=2",
            "https://api.example/v1?api_key=[redacted]&token=[redacted]&page=2",
        ),
        ("https://ghp_abcdefghij1234567890@github.com/x", "https://[redacted]@github.com/x"),
        ("lr=0.1 password=hunter2", "lr=0.1 password=[redacted]"),
        ('{"password": "hunter2", "user": "bob"}', '{"password": "[redacted]", "user": "bob"}'),
        ("{'db': {'passwd': 'x'}}", "{'db': {'passwd': '[redacted]'}}"),
        # left alone: no password, no secret key
        ("ssh://git@github.com/org/repo", "ssh://git@github.com/org/repo"),
        ("see https://example.com and mail x@y.org", "see https://example.com and mail x@y.org"),
        ("12:30 ratio=0.5", "12:30 ratio=0.5"),
    ],
)
def test_secrets_inside_text_and_urls_are_hidden(text: str, expected: str) -> None:
    assert redact_text(text) == expected
    assert redact_text(expected) == expected  # idempotent


def test_a_value_tree_hides_every_password_at_any_depth() -> None:
    tree = {
        "db": {"host": "h", "password": "p1", "url": "redis://:p2@h/0"},
        "replicas": [{"user": "u", "Password": {"nested": "p3"}}, "mysql://a:p4@h/x"],
        "n": 3,
        "t": ("token=p5",),
    }
    out = redact_tree(tree)
    assert out == {
        "db": {"host": "h", "password": REDACTED, "url": "redis://[redacted]@h/0"},
        "replicas": [{"user": "u", "Password": REDACTED}, "mysql://[redacted]@h/x"],
        "n": 3,
        "t": ("token=[redacted]",),
    }
    assert tree["db"]["password"] == "p1"  # a copy: the caller's value is untouched


def test_params_and_tags_holding_dicts_or_urls_are_redacted_by_the_logging_checks() -> None:
    assert check_param("conf", {"db": {"password": "p1"}, "lr": 0.1}) == (
        "conf",
        "{'db': {'password': '[redacted]'}, 'lr': 0.1}",
    )
    assert check_param("api key", "AAA") == ("api key", REDACTED)
    assert check_tag("cache", "redis://:pw@host") == ("cache", "redis://[redacted]@host")
    assert check_param("endpoint", "https://x/y?apikey=AAA") == (
        "endpoint",
        "https://x/y?apikey=[redacted]",
    )


def test_the_track_line_hides_what_the_params_hide() -> None:
    src = (
        "%%track --param api_key=sk-1 --param 'db_pass=a b' --param "
        'db=postgresql://bob:P@db/x --tag "api key=zz" --param lr=0.1\nx = "password=kept"'
    )
    assert redact_track_line(src) == (
        "%%track --param api_key=[redacted] --param 'db_pass=[redacted]' --param "
        'db=postgresql://[redacted]@db/x --tag "api key=[redacted]" --param lr=0.1\n'
        'x = "password=kept"'
    )
    assert redact_track_line("x = 'password=kept'") == "x = 'password=kept'"
