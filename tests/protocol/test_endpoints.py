"""Wrong URLs fail with a hint, /private is never doubled, upgrade answers retrying cannot fix
are fatal, a 418's block time is read from the body, server-echoed tokens are redacted."""

from __future__ import annotations

import pytest

from upbitws.client.options import StreamOptions
from upbitws.exceptions import (
    AuthenticationError,
    ConfigurationError,
    EndpointError,
    HandshakeError,
    InvalidURLError,
    RateLimitedError,
)
from upbitws.protocol.endpoints import (
    budget_key,
    check_url,
    derive_endpoints,
    fingerprint,
    path_hint,
)
from upbitws.protocol.errors import (
    block_seconds,
    error_from_close,
    error_from_frame,
    error_from_http_status,
    is_fatal,
    redact,
)

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJhY2Nlc3Nfa2V5IjoieCJ9.c2lnbmF0dXJlLXNlY3JldA"


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("http://127.0.0.1:8765", "ws://127.0.0.1:8765/websocket/v1"),
        ("https://api.upbit.com", "wss://api.upbit.com/websocket/v1"),
        ("127.0.0.1:8765", "ws://127.0.0.1:8765/websocket/v1"),
        ("localhost:8765", "ws://localhost:8765/websocket/v1"),
        ("http://127.0.0.1:8765/websocket/v1", "ws://127.0.0.1:8765/websocket/v1"),
    ],
)
def test_a_url_without_a_websocket_scheme_fails_at_once_with_a_hint(url: str, hint: str) -> None:
    with pytest.raises(InvalidURLError) as info:
        StreamOptions(url=url)
    text = str(info.value)
    assert repr(url) in text
    assert f"did you mean {hint}?" in text
    assert isinstance(info.value, ConfigurationError)


@pytest.mark.parametrize("url", ["", "ws://", "ws://host:port/x", "ftp://x", None])
def test_other_unusable_urls(url: str | None) -> None:
    with pytest.raises(InvalidURLError):
        check_url(url)


def test_private_url_is_validated_and_hinted_as_private() -> None:
    with pytest.raises(InvalidURLError, match=r"ws://h:1/websocket/v1/private\?"):
        StreamOptions(private_url="http://h:1")


@pytest.mark.parametrize(
    ("url", "private_url", "public", "private"),
    [
        ("ws://h:1/websocket/v1", None, "ws://h:1/websocket/v1", "ws://h:1/websocket/v1/private"),
        ("ws://h:1/websocket/v1/", None, "ws://h:1/websocket/v1/", "ws://h:1/websocket/v1/private"),
        (
            "ws://h:1/websocket/v1/private",
            None,
            "ws://h:1/websocket/v1",
            "ws://h:1/websocket/v1/private",
        ),
        (
            "ws://h:1/websocket/v1/private/",
            None,
            "ws://h:1/websocket/v1",
            "ws://h:1/websocket/v1/private",
        ),
        ("ws://h:1/websocket/v1", "ws://other:2/p", "ws://h:1/websocket/v1", "ws://other:2/p"),
    ],
)
def test_private_endpoint_derivation_never_doubles_private(
    url: str, private_url: str | None, public: str, private: str
) -> None:
    assert derive_endpoints(url, private_url) == (public, private)
    options = StreamOptions(url=url, private_url=private_url)
    assert options.public_endpoint == public
    assert options.private_endpoint == private
    assert "/private/private" not in options.private_endpoint


def test_region_default_endpoints() -> None:
    options = StreamOptions()
    assert options.public_endpoint == "wss://api.upbit.com/websocket/v1"
    assert options.private_endpoint == "wss://api.upbit.com/websocket/v1/private"


def test_path_hints() -> None:
    assert path_hint("ws://h:1/nope", private=False) == "did you mean ws://h:1/websocket/v1?"
    assert path_hint("ws://h:1/websocket/v1", private=False) == ""
    assert "private_url=" in path_hint("ws://h:1/websocket/v1/private/private", private=True)
    assert path_hint("wss://h/x", private=True) == "did you mean wss://h/websocket/v1/private?"


def test_budget_keys() -> None:
    assert budget_key("wss://API.upbit.com/websocket/v1") == "api.upbit.com"
    assert budget_key("ws://127.0.0.1:8765/websocket/v1") == "127.0.0.1:8765"
    key = budget_key("wss://api.upbit.com/websocket/v1/private", fingerprint("my-access-key"))
    assert key.startswith("api.upbit.com#")
    assert "my-access-key" not in key
    assert fingerprint("a") != fingerprint("b")


# -- upgrade answers ---------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 307, 308, 400, 404, 405, 410, 426, 200, 101])
def test_answers_retrying_cannot_fix_are_fatal_and_name_the_url(status: int) -> None:
    exc = error_from_http_status(
        status,
        {"Location": "http://elsewhere/"},
        url="ws://h:1/x",
        hint="did you mean ws://h:1/websocket/v1?",
    )
    assert isinstance(exc, EndpointError)
    assert is_fatal(exc)
    assert exc.status_code == status
    assert "ws://h:1/x" in str(exc)
    assert str(status) in str(exc)
    if 300 <= status < 400:
        assert "http://elsewhere/" in str(exc)
    if status >= 400:
        assert "did you mean ws://h:1/websocket/v1?" in str(exc)


@pytest.mark.parametrize("status", [408, 425, 500, 502, 503])
def test_answers_worth_retrying_stay_retryable(status: int) -> None:
    exc = error_from_http_status(status, {}, url="ws://h:1/websocket/v1")
    assert type(exc) is HandshakeError
    assert not is_fatal(exc)
    assert "ws://h:1/websocket/v1" in str(exc)


def test_401_403_stay_authentication_errors() -> None:
    for status in (401, 403):
        assert isinstance(error_from_http_status(status, {}), AuthenticationError)


@pytest.mark.parametrize(
    ("body", "seconds"),
    [
        (b'{"error":{"name":"too_many_requests","message":"blocked for 120 seconds"}}', 120.0),
        (b'{"error":{"name":"too_many_requests","message":"IP blocked 30s (x 2 = 60s)"}}', 30.0),
        ('{"error":{"name":"x","message":"요청이 차단되었습니다. 45초 후 재시도"}}'.encode(), 45.0),
        (b'{"error":{"name":"x","message":"wait 2.5 sec"}}', 2.5),
        (b'{"error":{"name":"x","message":"blocked","retry_after":77}}', 77.0),
        (b'{"error":{"name":"x"},"block":9}', 9.0),
        (b'{"error":{"name":"x","message":"try later"}}', None),
        (b'{"error":{"name":"x"}}', None),  # no message at all
        # a negative or infinite field is no block time: the message still may say one
        (b'{"error":{"retry_after":-5,"message":"blocked for 3 seconds"}}', 3.0),
        (b'{"error":{"name":"x"},"retry_after":1e999}', None),
        (b'{"error":{"name":"x","message":"blocked for 120 seconds","retry_after":true}}', 120.0),
        (b"<html>teapot</html>", None),
        (b"[1]", None),
        (b"[" * 100_000, None),
    ],
)
def test_block_time_from_the_body(body: bytes, seconds: float | None) -> None:
    assert block_seconds(body) == seconds


def test_418_uses_the_longer_of_header_and_body() -> None:
    body = b'{"error":{"name":"too_many_requests","message":"blocked for 90 seconds"}}'
    exc = error_from_http_status(418, {}, body=body, url="ws://h/websocket/v1")
    assert isinstance(exc, RateLimitedError)
    assert exc.retry_after == 90.0
    assert "blocked for 90 seconds" in str(exc)
    assert error_from_http_status(418, {"Retry-After": "10"}, body=body).retry_after == 90.0
    assert error_from_http_status(418, {"Retry-After": "300"}, body=body).retry_after == 300.0


def test_server_echoed_tokens_are_redacted_everywhere() -> None:
    assert redact(f"Authorization: Bearer {JWT}") == "Authorization: Bearer [REDACTED]"
    assert redact(f"token={JWT}!") == "token=[REDACTED]!"
    assert redact("nothing here") == "nothing here"
    texts = [
        str(error_from_frame("INVALID_AUTH", f"bad Bearer {JWT}")),
        str(error_from_frame(f"Bearer {JWT}", "x")),
        str(error_from_close(4000, f"bye {JWT}")),
        str(error_from_http_status(404, {}, f"Not {JWT}", body=JWT.encode())),
        str(error_from_http_status(418, {}, body=f'{{"error":{{"message":"{JWT}"}}}}'.encode())),
    ]
    for text in texts:
        assert JWT not in text
        assert "[REDACTED]" in text
    assert JWT not in repr(error_from_frame(f"Bearer {JWT}", "x").name)
