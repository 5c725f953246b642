"""Error classification (protocol §6, §7; architecture §2.3, §2.6)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest

from upbitws.exceptions import (
    AuthenticationError,
    ConfigurationError,
    ConnectionLostError,
    DataStalledError,
    FatalError,
    HandshakeError,
    HandshakeTimeoutError,
    PongTimeoutError,
    RateLimitedError,
    RequestRejectedError,
    RetriesExhaustedError,
    TLSCertificateError,
)
from upbitws.protocol.errors import (
    error_from_close,
    error_from_frame,
    error_from_http_status,
    is_fatal,
    parse_retry_after,
    retry_after,
)

DATA = Path(__file__).parent.parent / "data"


def error_frames() -> list[tuple[str, str]]:
    frames: list[dict[str, dict[str, str]]] = []
    for path in sorted(DATA.glob("error*.json")):
        loaded = json.loads(path.read_text(encoding="utf-8"))
        frames.extend(loaded if isinstance(loaded, list) else [loaded])
    return [(f["error"]["name"], f["error"]["message"]) for f in frames]


def test_samples_are_present() -> None:
    names = {name for name, _ in error_frames()}
    assert {"INVALID_AUTH", "NO_TICKET", "NO_TYPE", "NO_CODES", "INVALID_PARAM"} <= names


@pytest.mark.parametrize(("name", "message"), error_frames())
def test_sample_frames_are_fatal_and_keep_upbits_message(name: str, message: str) -> None:
    exc = error_from_frame(name, message)
    assert is_fatal(exc)
    assert exc.name == name
    assert message in str(exc)


def test_invalid_auth_names_the_likely_causes() -> None:
    exc = error_from_frame("INVALID_AUTH", "인증 정보가 올바르지 않습니다.")
    assert isinstance(exc, AuthenticationError)
    text = str(exc)
    for cause in ("secret key", "IP", "allow-list", "주문조회", "자산조회", "myOrder", "myAsset"):
        assert cause in text
    assert "/websocket/v1/private" in text
    assert exc.name == "INVALID_AUTH"


@pytest.mark.parametrize(
    "name", ["NO_TICKET", "NO_TYPE", "NO_CODES", "INVALID_PARAM", "WRONG_FORMAT"]
)
def test_request_errors_say_it_is_a_bug(name: str) -> None:
    exc = error_from_frame(name, "type nope is not supported.")
    assert isinstance(exc, RequestRejectedError)
    assert exc.name == name
    assert "bug in the request" in str(exc)
    assert "type nope is not supported." in str(exc)
    assert retry_after(exc) is None


@pytest.mark.parametrize(
    ("name", "wait"),
    [
        ("Too Many Requests", 1.0),
        ("TOO_MANY_REQUESTS", 1.0),
        ("I'm a teapot", 60.0),
        ("I’m a teapot", 60.0),
    ],
)
def test_rate_limit_frames_retry_slowly(name: str, wait: float) -> None:
    exc = error_from_frame(name, "")
    assert isinstance(exc, RateLimitedError)
    assert not is_fatal(exc)
    assert retry_after(exc) == wait
    assert exc.name == name


def test_unknown_frame_is_rejected() -> None:
    exc = error_from_frame("SOMETHING_NEW", "새로운 오류")
    assert type(exc) is RequestRejectedError
    assert exc.name == "SOMETHING_NEW"
    assert "새로운 오류" in str(exc)


def test_long_server_text_is_clipped() -> None:
    exc = error_from_frame("SOMETHING_NEW", "x" * 10_000)
    assert len(str(exc)) < 1000


# -- HTTP upgrade failures -------------------------------------------------------------


def test_429_with_retry_after_seconds() -> None:
    exc = error_from_http_status(429, {"Retry-After": "3"}, "Too Many Requests")
    assert isinstance(exc, RateLimitedError)
    assert exc.status_code == 429
    assert exc.retry_after == 3.0
    assert not is_fatal(exc)
    assert "429" in str(exc)


def test_retry_after_lookup_is_case_insensitive() -> None:
    exc = error_from_http_status(429, {"retry-after": "2.5"})
    assert retry_after(exc) == 2.5


@pytest.mark.parametrize(("status", "default"), [(429, 1.0), (418, 60.0)])
def test_rate_limit_defaults(status: int, default: float) -> None:
    assert retry_after(error_from_http_status(status, {})) == default
    # unusable values fall back to the default too
    assert retry_after(error_from_http_status(status, {"Retry-After": "soon"})) == default
    assert retry_after(error_from_http_status(status, {"Retry-After": "nan"})) == default


def test_418_honours_retry_after() -> None:
    exc = error_from_http_status(418, {"Retry-After": "300"}, "I'm a teapot")
    assert isinstance(exc, RateLimitedError)
    assert exc.retry_after == 300.0
    assert exc.status_code == 418


def test_retry_after_http_date() -> None:
    now = datetime(2026, 11, 22, 4, 0, 0, tzinfo=UTC).timestamp()
    date = format_datetime(datetime(2026, 11, 22, 4, 0, 42, tzinfo=UTC), usegmt=True)
    assert date.endswith("GMT")
    exc = error_from_http_status(429, {"Retry-After": date}, now=now)
    assert exc.retry_after == pytest.approx(42.0)
    # without a wall clock the date cannot be used: default
    assert retry_after(error_from_http_status(429, {"Retry-After": date})) == 1.0


def test_parse_retry_after() -> None:
    assert parse_retry_after(" 7 ") == 7.0
    assert parse_retry_after("-5") == 0.0
    assert parse_retry_after("inf") is None
    assert parse_retry_after("garbage", now=0.0) is None
    past = "Sun, 06 Nov 1994 08:49:37 GMT"
    assert parse_retry_after(past, now=1e9) == 0.0
    assert parse_retry_after("Sun, 06 Nov 1994 08:49:37 -0000", now=0.0) is None


@pytest.mark.parametrize("status", [401, 403])
def test_auth_statuses_are_fatal(status: int) -> None:
    exc = error_from_http_status(status, {}, "Unauthorized")
    assert isinstance(exc, AuthenticationError)
    assert exc.status_code == status
    assert is_fatal(exc)
    assert "allow-list" in str(exc)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 425])
def test_other_statuses_are_handshake_errors(status: int) -> None:
    exc = error_from_http_status(status, {}, "Bad Gateway")
    assert type(exc) is HandshakeError
    assert exc.status_code == status
    assert not is_fatal(exc)
    assert str(status) in str(exc)


def test_header_values_never_leak_into_messages() -> None:
    secret = "Bearer eyJhbGciOiJIUzI1NiJ9.SECRET.SIG"
    headers = {"Authorization": secret, "Set-Cookie": "session=SECRET", "Retry-After": "4"}
    for status in (401, 403, 418, 429, 500):
        exc = error_from_http_status(status, headers, "reason")
        assert "SECRET" not in str(exc)
        assert "SECRET" not in repr(exc.args)


# -- closes ---------------------------------------------------------------------------


def test_close_codes() -> None:
    after_error = error_from_close(1000)
    assert isinstance(after_error, ConnectionLostError)
    assert after_error.close_code == 1000
    assert "1000" in str(after_error)
    idle = error_from_close(1006)
    assert "idle" in str(idle)
    assert error_from_close(4000, "bye").close_code == 4000
    assert "'bye'" in str(error_from_close(4000, "bye"))
    lost = error_from_close(None)
    assert lost.close_code is None
    assert not is_fatal(lost)


# -- is_fatal / retry_after -------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "fatal"),
    [
        (AuthenticationError("x"), True),
        (RequestRejectedError("x"), True),
        (TLSCertificateError("x"), True),
        (FatalError("x"), True),
        (ConfigurationError("x"), True),
        (RetriesExhaustedError("x"), True),
        (RuntimeError("bug"), True),
        (HandshakeError("x"), False),
        (HandshakeTimeoutError("x"), False),
        (RateLimitedError("x", retry_after=2.0), False),
        (ConnectionLostError("x"), False),
        (PongTimeoutError("x"), False),
        (DataStalledError("x"), False),
    ],
)
def test_is_fatal(exc: BaseException, fatal: bool) -> None:
    assert is_fatal(exc) is fatal


def test_retry_after_helper() -> None:
    assert retry_after(RateLimitedError("x", retry_after=2.0)) == 2.0
    assert retry_after(ConnectionLostError("x")) is None
    assert retry_after(ValueError("x")) is None


def test_retry_after_is_found_among_other_headers_of_a_plain_dict() -> None:
    headers = {"Content-Type": "text/plain", "limit-by-ip": "Yes", "retry-after": "4"}
    assert retry_after(error_from_http_status(418, headers)) == 4.0
