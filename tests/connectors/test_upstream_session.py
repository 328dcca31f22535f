"""The session every connector uses, against a real local HTTP server: timeouts, retries, auth, TLS."""
import pytest
import requests
from pull_upstreams import Fault, fake_ecd

from connectors.config import ConfigError, parse_config
from connectors.upstream import session_for


def source(base, **body):
    return parse_config({"sources": {"ecd": {"kind": "network-json", "base_url": base, **body}}}).source("ecd")


def test_a_request_past_the_read_timeout_fails_instead_of_waiting():
    with fake_ecd(faults=[Fault("/echo", times=5, hang=1.0)]) as ecd:
        session = session_for(source(ecd.base, retries=0, timeout={"connect": 2, "read": 0.2}))
        assert session.timeout == (2.0, 0.2)
        with pytest.raises(requests.ConnectionError, match="Read timed out"):
            session.get(f"{ecd.base}/echo")


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_a_busy_or_failing_upstream_is_asked_again_with_back_off(status):
    with fake_ecd(faults=[Fault("/echo", times=2, status=status)]) as ecd:
        session = session_for(source(ecd.base, retries=3), backoff=0.01)
        assert session.get(f"{ecd.base}/echo").status_code == 200
        assert len(ecd.requests_to("/echo")) == 3


def test_retry_after_is_waited_out_before_asking_again():
    with fake_ecd(faults=[Fault("/echo", times=1, status=429, retry_after="1")]) as ecd:
        session = session_for(source(ecd.base, retries=2), backoff=0.01)
        assert session.get(f"{ecd.base}/echo").status_code == 200
        first, second = (t for t, _ in ecd.requests_to("/echo"))
        assert second - first >= 1.0  # a lower bound: the upstream asked for a second


def test_a_client_error_is_not_retried():
    with fake_ecd(faults=[Fault("/echo", times=5, status=404)]) as ecd:
        session = session_for(source(ecd.base, retries=3), backoff=0.01)
        assert session.get(f"{ecd.base}/echo").status_code == 404
        assert len(ecd.requests_to("/echo")) == 1


def test_a_refused_connection_is_retried_then_reported():
    with fake_ecd() as ecd:
        base = ecd.base
    session = session_for(source(base, retries=2, timeout={"connect": 0.5, "read": 1}), backoff=0.01)
    with pytest.raises(requests.ConnectionError):
        session.get(f"{base}/echo")


def test_bearer_basic_and_client_credentials_send_secrets_read_from_the_environment():
    env = {"ECD_TOKEN": "tok-from-env", "ECD_PASSWORD": "pw-from-env", "ECD_SECRET": "s3cret-from-env"}
    with fake_ecd() as ecd:
        bearer = session_for(source(ecd.base, auth={"type": "bearer", "token_env": "ECD_TOKEN"}), env)
        assert bearer.get(f"{ecd.base}/echo").json()["authorization"] == "Bearer tok-from-env"

        basic = session_for(source(ecd.base, auth={"type": "basic", "username": "sz", "password_env": "ECD_PASSWORD"}),
                            env)
        assert basic.get(f"{ecd.base}/echo").json()["authorization"].startswith("Basic ")

        cc = session_for(source(ecd.base, auth={"type": "client_credentials", "token_url": f"{ecd.base}/oauth/token",
                                                "client_id": "samenzorg", "client_secret_env": "ECD_SECRET"}), env)
        assert cc.get(f"{ecd.base}/echo").json()["authorization"] == "Bearer issued-1"
        assert cc.get(f"{ecd.base}/echo").json()["authorization"] == "Bearer issued-1"
        assert ecd.tokens_issued == 1  # reused until shortly before it expires


def test_a_secret_missing_from_the_environment_or_written_in_the_file_is_refused():
    with pytest.raises(ConfigError, match="ECD_TOKEN is not set"):
        session_for(source("https://ecd.example", auth={"type": "bearer", "token_env": "ECD_TOKEN"}),
                    {}).get("https://ecd.example/never-called")
    with pytest.raises(ConfigError, match="secret in the file"):
        source("https://ecd.example", auth={"type": "bearer", "token": "in-the-file"})


def test_tls_verification_is_on_unless_the_source_turns_it_off():
    assert session_for(source("https://ecd.example")).verify is True
    assert session_for(source("https://ecd.example", verify_tls=False)).verify is False
