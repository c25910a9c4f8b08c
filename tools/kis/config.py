"""Client configuration and credentials.

Credentials come, in order, from environment variables (``KIS_APP_KEY``, ``KIS_APP_SECRET``,
``KIS_ACCOUNT``), the OS keyring (service ``rebal``), or the official samples' ``kis_devlp.yaml``
that many KIS users already have — never from command-line arguments.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_serializer, field_validator

from tools.kis.errors import KisConfigError
from tools.kis.redact import REDACTOR, mask_account

Profile = Literal["paper", "real"]
REAL_URL = "https://openapi.koreainvestment.com:9443"
PAPER_URL = "https://openapivts.koreainvestment.com:29443"
KEYRING_SERVICE = "rebal"
DEVLP_YAML = Path.home() / "KIS" / "config" / "kis_devlp.yaml"
_ACCOUNT = re.compile(r"^\d{8}-?\d{2}$")


def normalise_account(number: str) -> str:
    number = number.strip()
    if not _ACCOUNT.match(number):
        raise KisConfigError(f"account number must be 8 digits and a 2-digit product code (NNNNNNNN-NN), "
                             f"got {mask_account(number) if number else 'nothing'}")
    digits = number.replace("-", "")
    return f"{digits[:8]}-{digits[8:]}"


class KisConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    profile: Profile = "paper"
    base_url: str | None = Field(None, description="override the host (the paper exchange, a test server)")
    account: str
    requests_per_second: float | None = Field(None, ge=0, description="None: 18 on real, 1 on paper; 0: off")
    legacy_tr_ids: bool = False
    timeout: float = Field(10.0, gt=0)
    read_retries: int = Field(3, ge=0, le=10)
    backoff_base: float = Field(0.2, ge=0)
    backoff_cap: float = Field(3.0, ge=0)
    token_cache_dir: Path = Field(default_factory=lambda: Path(
        os.environ.get("REBAL_CACHE_DIR") or Path.home() / ".cache" / "rebal") / "kis-tokens")
    token_throttle_wait: float = Field(61.0, ge=0, description="wait after EGW00133 before the one retry")
    max_pages: int = Field(50, ge=1)

    @field_validator("account")
    @classmethod
    def _account(cls, value: str) -> str:
        return normalise_account(value)

    @property
    def url(self) -> str:
        return (self.base_url or (REAL_URL if self.profile == "real" else PAPER_URL)).rstrip("/")

    @property
    def rate(self) -> float:
        if self.requests_per_second is not None:
            return self.requests_per_second
        return 18.0 if self.profile == "real" else 1.0

    @property
    def cano(self) -> str:
        return self.account[:8]

    @property
    def product_code(self) -> str:
        return self.account[9:]


class Credentials(BaseModel):
    model_config = ConfigDict(frozen=True)

    app_key: SecretStr
    app_secret: SecretStr
    account: str
    source: str  # where they were found, for messages ("environment", "keyring", "kis_devlp.yaml")

    @field_serializer("account")
    def _masked(self, account: str) -> str:
        # Credentials are never meant to be serialised; if they are, the account number stays masked.
        return mask_account(account)

    def register_secrets(self) -> None:
        """Teach the process-wide redactor these values before they can reach any log line."""
        REDACTOR.add_secret(self.app_key.get_secret_value())
        REDACTOR.add_secret(self.app_secret.get_secret_value())
        REDACTOR.add_account(self.account)

    def __repr__(self) -> str:
        return f"Credentials(source={self.source!r}, account={mask_account(self.account)!r})"

    __str__ = __repr__


def _from_env(env: Mapping[str, str]) -> Credentials | None:
    names = ("KIS_APP_KEY", "KIS_APP_SECRET", "KIS_ACCOUNT")
    present = [n for n in names if env.get(n)]
    if not present:
        return None
    missing = [n for n in names if not env.get(n)]
    if missing:
        raise KisConfigError(f"environment has {', '.join(present)} but not {', '.join(missing)}")
    return Credentials(app_key=SecretStr(env["KIS_APP_KEY"]), app_secret=SecretStr(env["KIS_APP_SECRET"]),
                       account=normalise_account(env["KIS_ACCOUNT"]), source="environment")


def _from_keyring(profile: str, notes: list[str]) -> Credentials | None:
    try:
        import keyring
        from keyring.errors import KeyringError, NoKeyringError
    except ImportError:  # pragma: no cover - keyring is a dependency
        notes.append("keyring: package not installed")
        return None
    try:
        values = [keyring.get_password(KEYRING_SERVICE, f"{profile}:{name}")
                  for name in ("app_key", "app_secret", "account")]
    except NoKeyringError:
        notes.append("keyring: no backend on this system (usual on headless Linux); skipped")
        return None
    except KeyringError as error:
        notes.append(f"keyring: unavailable ({type(error).__name__}); skipped")
        return None
    if not any(values):
        notes.append(f"keyring: nothing stored under service {KEYRING_SERVICE!r} for {profile}")
        return None
    if not all(values):
        raise KisConfigError(f"keyring service {KEYRING_SERVICE!r} has only part of the {profile} credentials")
    key, secret, account = values
    return Credentials(app_key=SecretStr(key), app_secret=SecretStr(secret), account=normalise_account(account),
                       source="keyring")


def _from_devlp_yaml(profile: str, path: Path, notes: list[str]) -> Credentials | None:
    if not path.exists():
        notes.append(f"{path}: not found")
        return None
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise KisConfigError(f"{path}: cannot be read as YAML ({type(error).__name__})") from None
    keys = ("my_app", "my_sec", "my_acct_stock") if profile == "real" else ("paper_app", "paper_sec", "my_paper_stock")
    values = [str(data.get(k) or "").strip() for k in keys]
    if not all(values):
        missing = [k for k, v in zip(keys, values, strict=True) if not v]
        notes.append(f"{path}: no {', '.join(missing)}")
        return None
    product = str(data.get("my_prod") or "01").strip().zfill(2)
    account = values[2] if len(values[2].replace("-", "")) == 10 else f"{values[2]}-{product}"
    return Credentials(app_key=SecretStr(values[0]), app_secret=SecretStr(values[1]),
                       account=normalise_account(account), source=str(path))


def load_credentials(profile: Profile, *, env: Mapping[str, str] | None = None,
                     devlp_yaml: Path | None = None) -> Credentials:
    """The first complete set of credentials for ``profile``; a clear error listing what was tried."""
    notes: list[str] = []
    found = (_from_env(os.environ if env is None else env)
             or _from_keyring(profile, notes)
             or _from_devlp_yaml(profile, devlp_yaml or DEVLP_YAML, notes))
    if found is None:
        tried = "; ".join(["environment: KIS_APP_KEY/KIS_APP_SECRET/KIS_ACCOUNT not set", *notes])
        raise KisConfigError(f"no KIS credentials for the {profile} profile ({tried})")
    found.register_secrets()
    return found


def store_in_keyring(profile: Profile, credentials: Credentials) -> None:
    import keyring

    keyring.set_password(KEYRING_SERVICE, f"{profile}:app_key", credentials.app_key.get_secret_value())
    keyring.set_password(KEYRING_SERVICE, f"{profile}:app_secret", credentials.app_secret.get_secret_value())
    keyring.set_password(KEYRING_SERVICE, f"{profile}:account", credentials.account)
