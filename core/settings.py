"""Configuration, from the environment only. Unset means the embedded defaults: SQLite and an embedded
Redis under XCFB_HOME (./var), the FreshBooks sandbox's published credentials nowhere: secrets must be set.

Each setting is declared once below, with the environment variable it is read from (its alias); an empty
value means unset. `Settings.from_env()` reads the environment, `Settings(name=value, ...)` takes the given
values and the declared defaults only (tests, the demo stage), and `as_environment()` is the inverse that
child processes are started with. A value that cannot be used raises SettingsError naming the variable."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, SettingsConfigDict


class SettingsError(ValueError):
    """A setting that cannot be used. The message names the variable and never quotes a secret: entry
    points show it as one line and stop."""


def _env(name: str, default: Any = None) -> Any:
    return Field(default, validation_alias=name)


Secret = SecretStr | None
SecretList = Annotated[tuple[SecretStr, ...], NoDecode]  # NoDecode: comma-separated, not JSON


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="forbid", case_sensitive=True, env_ignore_empty=True,
                                      validate_by_name=True, validate_by_alias=True)

    home: Path = _env("XCFB_HOME", Path("var"))
    redis_url: str | None = _env("REDIS_URL")  # None: the embedded redis-server under `home`
    database_url: str | None = _env("DATABASE_URL")  # None: SQLite under `home`
    freshbooks_api_url: str = _env("FRESHBOOKS_API_URL", "https://api.freshbooks.com")
    freshbooks_account_id: str | None = _env("FRESHBOOKS_ACCOUNT_ID")
    freshbooks_access_token: Secret = _env("FRESHBOOKS_ACCESS_TOKEN")  # a fixed token (sandbox, scripts)
    freshbooks_client_id: str | None = _env("FRESHBOOKS_CLIENT_ID")
    freshbooks_client_secret: Secret = _env("FRESHBOOKS_CLIENT_SECRET")
    freshbooks_redirect_uri: str | None = _env("FRESHBOOKS_REDIRECT_URI")
    freshbooks_authorize_url: str | None = _env("FRESHBOOKS_AUTHORIZE_URL")  # None: FreshBooks', or the sandbox's
    token_key: Secret = _env("XCFB_TOKEN_KEY")  # Fernet key for secrets at rest; None: a key file under home
    xcart_webhook_secrets: SecretList = _env("XCART_WEBHOOK_SECRETS", ())  # new,old while rotating
    xcart_api_url: str | None = _env("XCART_API_URL")
    public_url: str | None = _env("XCFB_PUBLIC_URL")  # the service's base URL as X-Cart reaches it (https://...)
    xcart_api_token: Secret = _env("XCART_API_TOKEN")
    rules_path: Path | None = _env("XCFB_RULES")
    max_retries: int = _env("XCFB_MAX_RETRIES", 8)
    retry_base_seconds: float = _env("XCFB_RETRY_BASE_SECONDS", 2.0)
    retry_cap_seconds: float = _env("XCFB_RETRY_CAP_SECONDS", 300.0)  # below the broker's visibility timeout
    alert_webhook_url: str | None = _env("XCFB_ALERT_WEBHOOK_URL")
    metrics_token: Secret = _env("XCFB_METRICS_TOKEN")  # bearer token Prometheus scrapes /metrics with
    outage_alert_seconds: float = _env("XCFB_OUTAGE_ALERT_SECONDS", 120.0)  # FreshBooks unreachable this long
    visibility_timeout: int = _env("XCFB_VISIBILITY_TIMEOUT", 3600)  # the broker redelivers unacked tasks then
    stuck_after_seconds: int = _env("XCFB_STUCK_AFTER_SECONDS", 3600)  # beat re-runs events unfinished this long
    requeue_interval: float = _env("XCFB_REQUEUE_INTERVAL", 60.0)  # how often beat looks for such events
    max_requeues: int = _env("XCFB_MAX_REQUEUES", 3)  # re-runs of a stuck event before a `stuck` dead letter
    catch_up_interval: float = _env("XCFB_CATCH_UP_INTERVAL", 30.0)  # seconds between X-Cart polls (README)
    catch_up_overlap: float = _env("XCFB_CATCH_UP_OVERLAP", 600.0)  # each poll looks this far behind
    catch_up_start: float = _env("XCFB_CATCH_UP_START", 86400.0)  # how far back the very first poll looks
    store_id: str = _env("XCART_STORE_ID", "xcart")
    reconcile_interval: float = _env("XCFB_RECONCILE_INTERVAL", 86400.0)  # beat reconciles the books this often
    reconcile_overlap: float = _env("XCFB_RECONCILE_OVERLAP", 86400.0)  # and looks this much further back
    rates_interval: float = _env("XCFB_RATES_INTERVAL", 21600.0)  # beat fetches the ECB's daily rates this often
    # The rule version this process runs: the one pinned to this environment in the console (else the file).
    environment: Literal["dev", "qa", "prod"] = _env("XCFB_ENVIRONMENT", "prod")
    # Fixed limits, not read from the environment (no alias): tests set them by keyword.
    dedupe_ttl_seconds: int = 7 * 24 * 3600
    max_body_bytes: int = 1024 * 1024
    signature_tolerance_seconds: int = 300
    webhook_secrets_cache_seconds: float = 10.0  # a secret made or retired by `xcfb connect webhooks` holds within this
    rules_refresh_seconds: float = 5.0  # a rule version promoted to this environment is running within this
    console_session_hours: float = 12.0  # a console sign-in lasts this long
    console_sign_in_attempts: int = 5  # failed sign-ins per email, and per address, before a pause
    console_sign_in_window_seconds: int = 900  # ... within this window

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise SettingsError(_describe(exc)) from None  # from None: the chain would quote the inputs

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, **_sources):
        return (init_settings,)  # keyword construction never reads the environment; from_env does

    @classmethod
    def from_env(cls) -> Settings:
        read = EnvSettingsSource(cls)()  # keyed by variable name; empty values already dropped
        return cls(**{name: value for name, value in read.items() if name in _VARIABLES.values()})

    def replace(self, **changes: Any) -> Settings:
        """A copy with some values changed, validated like any other (model_copy would not validate)."""
        return type(self)(**{**dict(self), **changes})

    def as_environment(self) -> dict[str, str]:
        """The environment a child process reads these same settings from. An unset value is "" (empty
        means unset), so that a value inherited from this process's environment does not come back."""
        return {variable: _text(getattr(self, field)) for field, variable in _VARIABLES.items()}

    @field_validator("home")
    @classmethod
    def _absolute(cls, home: Path) -> Path:
        return home.resolve()

    @field_validator("freshbooks_api_url")
    @classmethod
    def _without_trailing_slash(cls, url: str) -> str:
        return url.rstrip("/")

    @field_validator("xcart_webhook_secrets", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        return tuple(part.strip() for part in value.split(",") if part.strip()) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _retry_cap_below_visibility_timeout(self) -> Settings:
        if self.retry_cap_seconds >= self.visibility_timeout:
            raise ValueError(f"XCFB_RETRY_CAP_SECONDS ({self.retry_cap_seconds:g}) must be below "
                             f"XCFB_VISIBILITY_TIMEOUT ({self.visibility_timeout}), or a task waiting for its "
                             "retry is delivered twice")
        return self


_VARIABLES = {name: f.validation_alias for name, f in Settings.model_fields.items() if f.validation_alias}
_SECRET_VARIABLES = {_VARIABLES[name] for name, f in Settings.model_fields.items()
                     if name in _VARIABLES and "SecretStr" in str(f.annotation)}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, tuple):
        return ",".join(_text(each) for each in value)
    return str(value)


def _describe(exc: ValidationError) -> str:
    """One line per problem, naming the variable; the input is quoted unless the setting is a secret."""
    return "; ".join(_problem(error) for error in exc.errors(include_url=False))


def _problem(error: dict) -> str:
    if error["type"] == "value_error":  # our own validators: the message says it all
        message = str(error["ctx"]["error"])
    else:
        message = error["msg"][:1].lower() + error["msg"][1:]
    if not error["loc"]:
        return message
    variable = _VARIABLES.get(error["loc"][0], error["loc"][0])
    if variable in _SECRET_VARIABLES or error["type"] in ("missing", "extra_forbidden"):
        return f"{variable}: {message}"
    return f"{variable}: {message}, got {error['input']!r}"
