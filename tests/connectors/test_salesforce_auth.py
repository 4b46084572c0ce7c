"""Every Salesforce auth mode through the real simple-salesforce over HTTPS, and the settings that pick them."""
from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sf_fixtures import SfSandbox, make_leads
from config.schema import LeadpilotConfig
from connectors.base import ConnectorError, RetryableConnectorError, Watermark
from connectors.registry import validate_connector_settings
from connectors.sandbox.salesforce_seed import IDENTITY


def _leads_visible(sf: SfSandbox, **settings: object) -> int:
    connector = sf.connector(**settings)
    return len(connector.fetch_changed(Watermark(), 100).leads)


def test_given_username_password_and_token_then_the_soap_login_works(sf: SfSandbox) -> None:
    sf.seed(make_leads(2))
    assert _leads_visible(sf) == 2
    assert sf.http_stats()["login"] == 1


def test_given_a_wrong_password_then_login_fails_with_an_actionable_error_and_no_retry(sf: SfSandbox) -> None:
    connector = sf.connector(password="wrong")
    with pytest.raises(ConnectorError, match="login failed \\(INVALID_LOGIN.*check the password credentials"):
        connector.fetch_agents()
    assert sf.http_stats()["login"] == 1


def test_given_a_jwt_key_file_then_the_bearer_flow_logs_in(sf: SfSandbox, tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "jwt.pem"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    sf.store.set_oauth_app("jwt-app", "unused", IDENTITY.integration_username, public)
    sf.seed(make_leads(1))

    assert _leads_visible(sf, auth="jwt", consumer_key="jwt-app", private_key_file=str(key_file)) == 1
    assert sf.http_stats()["oauth_token"] == 1


def test_given_a_jwt_signed_by_another_key_then_login_is_refused(sf: SfSandbox, tmp_path: Path) -> None:
    ours, theirs = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
    key_file = tmp_path / "jwt.pem"
    key_file.write_bytes(theirs.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
    sf.store.set_oauth_app("jwt-app", "unused", IDENTITY.integration_username, ours.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode())

    with pytest.raises(ConnectorError, match="invalid_grant"):
        sf.connector(auth="jwt", consumer_key="jwt-app", private_key_file=str(key_file)).fetch_agents()


def test_given_client_credentials_then_the_connected_app_logs_in_as_its_run_as_user(sf: SfSandbox) -> None:
    sf.seed(make_leads(3))
    assert _leads_visible(sf, auth="client_credentials", consumer_key=IDENTITY.client_id,
                          consumer_secret=IDENTITY.client_secret, username=None, password=None,
                          security_token=None) == 3


def test_given_a_session_id_and_instance_url_then_no_login_call_is_made(sf: SfSandbox) -> None:
    user = sf.store.user_id(IDENTITY.integration_username)
    assert user is not None
    token = sf.store.create_session(user)
    sf.seed(make_leads(2))

    assert _leads_visible(sf, auth="session", session_id=token, instance_url=sf.server.url,
                          username=None, password=None, security_token=None) == 2
    assert "login" not in sf.http_stats()


def test_given_an_api_version_then_every_call_uses_it(sf: SfSandbox) -> None:
    sf.seed(make_leads(1))
    connector = sf.connector(api_version="61.0")
    connector.fetch_changed(Watermark(), 10)
    assert connector.client.base_url.endswith("/services/data/v61.0/")


def test_given_no_ca_bundle_then_the_sandbox_certificate_is_refused_without_retries(sf: SfSandbox) -> None:
    connector = sf.connector(ca_bundle=None)
    with pytest.raises(Exception) as caught:
        connector.fetch_agents()
    assert not isinstance(caught.value, RetryableConnectorError)
    assert "certificate verify failed" in str(caught.value).lower()
    assert connector.sleep.waits == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("settings, message", [
    ({"auth": "password", "username": "u"}, "auth 'password' needs password, security_token"),
    ({"auth": "jwt", "username": "u"}, "auth 'jwt' needs consumer_key, private_key_file"),
    ({"auth": "client_credentials", "consumer_key": "k", "consumer_secret": "s"}, "My Domain"),
    ({"auth": "session", "session_id": "x", "instance_url": "http://plain"}, "must start with https://"),
    ({"auth": "password", "username": "u", "password": "p", "security_token": "t", "api_version": "v59"},
     "String should match pattern"),
    ({"auth": "password", "username": "u", "password": "p", "security_token": "t", "collection_size": 500},
     "less than or equal to 200"),
    ({"auth": "password", "username": "u", "password": "p", "security_token": "t", "colection_size": 5},
     "Extra inputs are not permitted"),
])
def test_given_incomplete_settings_then_config_check_names_each_problem(settings: dict[str, object],
                                                                        message: str) -> None:
    config = LeadpilotConfig.model_validate({"connectors": [{"name": "sf", "plugin": "salesforce",
                                                             "settings": settings}]})
    problems = validate_connector_settings(config)
    assert problems and any(message in p.message for p in problems), problems
    assert all(p.path.startswith("connectors[0].settings") for p in problems)
