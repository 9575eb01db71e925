"""Fetching over HTTP against a real local server: retries, timeouts, size caps, secrets."""

from __future__ import annotations

import logging

import pytest

from grid.providers.base import ProviderError, Reason
from grid.providers.http import HttpOptions, ProviderSpecError, http_get, url_public
from tests.grid.http_providers.server import (
    LocalServer,
    closed_port,
    endless,
    reply,
    stall,
    trickle,
)

FAST = {"timeout_s": 0.5, "retries": 2, "backoff_s": 0.01, "backoff_max_s": 0.05}
SECRET = "sk_live_0123456789abcdefSECRET"


def options(**changes: object) -> HttpOptions:
    return HttpOptions.from_spec({**FAST, **changes})


def failure(url: str, opts: HttpOptions) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        http_get(url, options=opts)
    return caught.value


def test_a_good_answer_is_returned_whole(http_server: LocalServer) -> None:
    url = http_server.route("/data", reply(200, b'{"data": []}'))
    assert http_get(url, options=options()) == b'{"data": []}'
    [request] = http_server.requests_to("/data")
    assert request.headers["user-agent"].startswith("gridtwin")


def test_a_5xx_is_tried_again_and_a_later_good_answer_wins(http_server: LocalServer) -> None:
    url = http_server.route("/data", reply(500), reply(503), reply(200, b"ok"))
    assert http_get(url, options=options()) == b"ok"
    assert len(http_server.requests_to("/data")) == 3


def test_a_lasting_5xx_ends_after_the_retries_with_its_status(http_server: LocalServer) -> None:
    url = http_server.route("/data", reply(500, b"internal error"))
    error = failure(url, options(retries=2))
    assert error.reason is Reason.HTTP_STATUS
    assert "HTTP 500" in str(error)
    assert len(http_server.requests_to("/data")) == 3


def test_a_4xx_is_not_tried_again(http_server: LocalServer) -> None:
    url = http_server.route("/data", reply(403, b"forbidden"))
    error = failure(url, options())
    assert (error.reason, "HTTP 403" in str(error)) == (Reason.HTTP_STATUS, True)
    assert len(http_server.requests_to("/data")) == 1


def test_a_redirect_is_not_followed(http_server: LocalServer) -> None:
    http_server.route("/elsewhere", reply(200, b"ok"))
    url = http_server.route("/data", reply(302, headers=[("Location", "/elsewhere")]))
    assert "HTTP 302" in str(failure(url, options()))
    assert http_server.requests_to("/elsewhere") == []


def test_429_with_retry_after_within_the_cap_is_waited_for(http_server: LocalServer) -> None:
    url = http_server.route("/data", reply(429, headers=[("Retry-After", "0")]), reply(200, b"ok"))
    assert http_get(url, options=options()) == b"ok"
    assert len(http_server.requests_to("/data")) == 2


def test_429_asking_for_longer_than_the_cap_ends_at_once(
    http_server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = http_server.route("/data", reply(429, headers=[("Retry-After", "3600")]))
    with caplog.at_level(logging.WARNING, logger="grid.providers.http"):
        error = failure(url, options(retries=5, backoff_max_s=1))
    assert error.reason is Reason.HTTP_STATUS
    assert "HTTP 429" in str(error)
    assert len(http_server.requests_to("/data")) == 1
    assert "giving up" in caplog.text


def test_a_stalled_server_times_out_each_attempt(http_server: LocalServer) -> None:
    url = http_server.route("/data", stall(5.0, reply(200, b"too late")))
    error = failure(url, options(timeout_s=0.2, retries=1))
    assert error.reason is Reason.TIMEOUT
    assert len(http_server.requests_to("/data")) == 2


def test_a_body_trickling_past_the_deadline_times_out(http_server: LocalServer) -> None:
    # Each chunk arrives well within the timeout, the whole body does not.
    url = http_server.route("/data", trickle(b"x" * 10, count=40, every_s=0.05))
    error = failure(url, options(timeout_s=0.5, retries=0))
    assert error.reason is Reason.TIMEOUT


def test_a_refused_connection_is_unreachable_after_the_retries() -> None:
    error = failure(f"http://127.0.0.1:{closed_port()}/data", options(retries=1))
    assert error.reason is Reason.UNREACHABLE
    assert "cannot connect" in str(error)


def test_an_endless_body_stops_at_the_size_cap(http_server: LocalServer) -> None:
    url = http_server.route("/data", endless())
    error = failure(url, options(max_bytes=256 * 1024, timeout_s=5))
    assert error.reason is Reason.TOO_LARGE


def test_a_declared_length_over_the_cap_is_refused_before_reading(http_server: LocalServer) -> None:
    url = http_server.route("/data", reply(200, b"x" * 2048))
    assert failure(url, options(max_bytes=1024)).reason is Reason.TOO_LARGE


def test_a_broken_gzip_body_is_malformed(http_server: LocalServer) -> None:
    url = http_server.route(
        "/data", reply(200, b"\x1f\x8b not gzip at all", headers=[("Content-Encoding", "gzip")])
    )
    assert failure(url, options()).reason is Reason.MALFORMED


def test_an_api_key_in_a_query_parameter_is_sent_and_never_logged(
    http_server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = http_server.route("/data", reply(500))
    opts = options(api_key=SECRET, api_key_param="appid", retries=1)
    with caplog.at_level(logging.DEBUG):
        error = failure(url + "?region=13&sig=inline-SECRET-value", opts)
    sent = http_server.requests_to("/data")
    assert [request.query.get("appid") for request in sent] == [[SECRET], [SECRET]]
    assert sent[0].query["sig"] == ["inline-SECRET-value"]
    assert caplog.records, "the retry is logged"
    for text in (caplog.text, str(error), repr(error)):
        assert SECRET not in text
        assert "inline-SECRET-value" not in text
        assert "/data" in text


def test_an_api_key_in_a_header_is_sent_and_never_logged(
    http_server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = http_server.route("/data", reply(503), reply(200, b"ok"))
    opts = options(api_key=SECRET, api_key_header="X-Api-Key")
    with caplog.at_level(logging.DEBUG):
        assert http_get(url, options=opts) == b"ok"
    assert [r.headers.get("x-api-key") for r in http_server.requests_to("/data")] == [SECRET] * 2
    assert "trying again" in caplog.text
    assert SECRET not in caplog.text
    assert SECRET not in repr(opts)


def test_an_api_key_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRID_TEST_PROVIDER_KEY", SECRET)
    opts = HttpOptions.from_spec({"api_key_env": "GRID_TEST_PROVIDER_KEY", "api_key_param": "k"})
    assert opts.api_key == SECRET
    monkeypatch.delenv("GRID_TEST_PROVIDER_KEY")
    with pytest.raises(ProviderSpecError, match="GRID_TEST_PROVIDER_KEY is not set"):
        HttpOptions.from_spec({"api_key_env": "GRID_TEST_PROVIDER_KEY", "api_key_param": "k"})


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({"timeout_s": 0}, "timeout_s"),
        ({"timeout_s": float("nan")}, "timeout_s"),
        ({"retries": 2.5}, "retries"),
        ({"retries": True}, "retries"),
        ({"retries": 11}, "retries"),
        ({"max_bytes": "1MB"}, "max_bytes"),
        ({"api_key": SECRET}, "exactly one"),
        ({"api_key": SECRET, "api_key_header": "X", "api_key_param": "k"}, "exactly one"),
        ({"api_key_param": "k"}, "without an API key"),
        ({"api_key": "", "api_key_param": "k"}, "non-empty"),
    ],
)
def test_bad_http_settings_are_refused_by_name(spec: dict[str, object], words: str) -> None:
    with pytest.raises(ProviderSpecError) as caught:
        HttpOptions.from_spec(spec)
    assert words in str(caught.value)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "public"),
    [
        ("https://api.example.com/v1/rates?apikey=abc&x=1", "https://api.example.com/v1/rates"),
        ("http://user:pw@host.example:8080/p#frag", "http://host.example:8080/p"),
        ("http://[::1", "(an invalid URL)"),
    ],
)
def test_url_public_keeps_no_query_or_credentials(url: str, public: str) -> None:
    assert url_public(url) == public
