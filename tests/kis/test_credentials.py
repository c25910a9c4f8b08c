"""Credential sources in order — environment, OS keyring, kis_devlp.yaml — and their errors."""

from __future__ import annotations

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from tools.kis import KisConfig, KisConfigError, load_credentials, store_in_keyring
from tools.kis.config import Credentials

KEY = "PS" + "k" * 34
SECRET = "s" * 180


@pytest.fixture(autouse=True)
def h():  # these tests need no exchange; the leak check of this folder still runs on them
    class NoExchange:
        class exchange:
            accounts: dict = {}

        class app:
            class state:
                class tokens:
                    _tokens: dict = {}

    return NoExchange


class MemoryKeyring(KeyringBackend):
    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.values.get((service, username))

    def set_password(self, service, username, password):
        self.values[(service, username)] = password

    def delete_password(self, service, username):
        self.values.pop((service, username), None)


@pytest.fixture
def no_keyring():
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_environment_comes_first(tmp_path, memory_keyring):
    env = {"KIS_APP_KEY": KEY, "KIS_APP_SECRET": SECRET, "KIS_ACCOUNT": "5001234501"}
    creds = load_credentials("paper", env=env, devlp_yaml=tmp_path / "none.yaml")
    assert (creds.source, creds.account) == ("environment", "50012345-01")
    assert creds.app_secret.get_secret_value() == SECRET


def test_partial_environment_is_an_error(tmp_path):
    with pytest.raises(KisConfigError) as error:
        load_credentials("paper", env={"KIS_APP_KEY": KEY}, devlp_yaml=tmp_path / "none.yaml")
    assert "KIS_APP_SECRET, KIS_ACCOUNT" in str(error.value) and KEY not in str(error.value)


def test_keyring(tmp_path, memory_keyring):
    creds = Credentials.model_validate({"app_key": KEY, "app_secret": SECRET, "account": "50012345-01",
                                        "source": "x"})
    store_in_keyring("paper", creds)
    loaded = load_credentials("paper", env={}, devlp_yaml=tmp_path / "none.yaml")
    assert loaded.source == "keyring" and loaded.app_key.get_secret_value() == KEY
    with pytest.raises(KisConfigError) as error:
        load_credentials("real", env={}, devlp_yaml=tmp_path / "none.yaml")
    assert "nothing stored under service 'rebal' for real" in str(error.value)


def test_no_keyring_backend_falls_back_to_kis_devlp_yaml(tmp_path, no_keyring):
    yaml = tmp_path / "input-kis_devlp.yaml"  # the person's file, not one Rebal wrote (conftest's scan)
    yaml.write_text(f"my_app: 'R{KEY[1:]}'\nmy_sec: '{SECRET}'\npaper_app: '{KEY}'\npaper_sec: '{SECRET}'\n"
                    "my_acct_stock: '60012345'\nmy_paper_stock: '50012345'\nmy_prod: '01'\n"
                    "prod: 'https://openapi.koreainvestment.com:9443'\n")
    paper = load_credentials("paper", env={}, devlp_yaml=yaml)
    real = load_credentials("real", env={}, devlp_yaml=yaml)
    assert (paper.account, paper.app_key.get_secret_value()) == ("50012345-01", KEY)
    assert real.account == "60012345-01" and real.source == str(yaml)


def test_nothing_found_lists_what_was_tried(tmp_path, no_keyring):
    with pytest.raises(KisConfigError) as error:
        load_credentials("paper", env={}, devlp_yaml=tmp_path / "kis_devlp.yaml")
    message = str(error.value)
    assert "KIS_APP_KEY" in message and "no backend on this system" in message and "not found" in message


def test_malformed_inputs(tmp_path, no_keyring):
    broken = tmp_path / "kis_devlp.yaml"
    broken.write_text("paper_app: [unclosed\n")
    with pytest.raises(KisConfigError, match="cannot be read as YAML"):
        load_credentials("paper", env={}, devlp_yaml=broken)
    with pytest.raises(KisConfigError, match="8 digits"):
        load_credentials("paper", env={"KIS_APP_KEY": KEY, "KIS_APP_SECRET": SECRET, "KIS_ACCOUNT": "123"})
    with pytest.raises(Exception, match="8 digits"):
        KisConfig(account="12345")


def test_secrets_stay_out_of_reprs():
    creds = Credentials.model_validate({"app_key": KEY, "app_secret": SECRET, "account": "50012345-01",
                                        "source": "environment"})
    for text in (repr(creds), str(creds), repr(creds.app_key), creds.model_dump_json()):
        assert KEY not in text and SECRET not in text and "50012345" not in text
