"""Settings: every variable read with its default, lists, empty = unset, errors naming the variable, the
retry-cap rule, secrets kept out of repr, and the environment child processes are started with."""

from pathlib import Path

import pytest
from pydantic import SecretStr

from core.settings import Settings, SettingsError

VARIABLES = {  # variable: (value in the environment, attribute, value read)
    "XCFB_HOME": ("/srv/xcfb", "home", Path("/srv/xcfb")),
    "REDIS_URL": ("redis://cache:6379/1", "redis_url", "redis://cache:6379/1"),
    "DATABASE_URL": ("postgresql://db/books", "database_url", "postgresql://db/books"),
    "FRESHBOOKS_API_URL": ("http://127.0.0.1:8100/", "freshbooks_api_url", "http://127.0.0.1:8100"),
    "FRESHBOOKS_ACCOUNT_ID": ("ACC1", "freshbooks_account_id", "ACC1"),
    "FRESHBOOKS_ACCESS_TOKEN": ("fixed-token", "freshbooks_access_token", "fixed-token"),
    "FRESHBOOKS_CLIENT_ID": ("client-1", "freshbooks_client_id", "client-1"),
    "FRESHBOOKS_CLIENT_SECRET": ("client-secret", "freshbooks_client_secret", "client-secret"),
    "FRESHBOOKS_REDIRECT_URI": ("https://svc.test/cb", "freshbooks_redirect_uri", "https://svc.test/cb"),
    "FRESHBOOKS_AUTHORIZE_URL": ("https://auth.test/authorize", "freshbooks_authorize_url",
                                 "https://auth.test/authorize"),
    "XCFB_TOKEN_KEY": ("fernet-key", "token_key", "fernet-key"),
    "XCART_WEBHOOK_SECRETS": ("new,old", "xcart_webhook_secrets", ("new", "old")),
    "XCART_API_URL": ("https://shop.test/api", "xcart_api_url", "https://shop.test/api"),
    "XCFB_PUBLIC_URL": ("https://books.test", "public_url", "https://books.test"),
    "XCART_API_TOKEN": ("xcart-token", "xcart_api_token", "xcart-token"),
    "XCFB_RULES": ("/etc/xcfb/rules.yaml", "rules_path", Path("/etc/xcfb/rules.yaml")),
    "XCFB_MAX_RETRIES": ("5", "max_retries", 5),
    "XCFB_RETRY_BASE_SECONDS": ("0.5", "retry_base_seconds", 0.5),
    "XCFB_RETRY_CAP_SECONDS": ("30", "retry_cap_seconds", 30.0),
    "XCFB_ALERT_WEBHOOK_URL": ("https://alerts.test/hook", "alert_webhook_url", "https://alerts.test/hook"),
    "XCFB_METRICS_TOKEN": ("scrape-token", "metrics_token", "scrape-token"),
    "XCFB_OUTAGE_ALERT_SECONDS": ("90", "outage_alert_seconds", 90.0),
    "XCFB_VISIBILITY_TIMEOUT": ("600", "visibility_timeout", 600),
    "XCFB_STUCK_AFTER_SECONDS": ("1800", "stuck_after_seconds", 1800),
    "XCFB_REQUEUE_INTERVAL": ("30", "requeue_interval", 30.0),
    "XCFB_MAX_REQUEUES": ("2", "max_requeues", 2),
    "XCFB_CATCH_UP_INTERVAL": ("120", "catch_up_interval", 120.0),
    "XCFB_CATCH_UP_OVERLAP": ("60", "catch_up_overlap", 60.0),
    "XCFB_CATCH_UP_START": ("3600", "catch_up_start", 3600.0),
    "XCART_STORE_ID": ("shop2", "store_id", "shop2"),
    "XCFB_RECONCILE_INTERVAL": ("3600", "reconcile_interval", 3600.0),
    "XCFB_RECONCILE_OVERLAP": ("0", "reconcile_overlap", 0.0),
    "XCFB_RATES_INTERVAL": ("3600", "rates_interval", 3600.0),
    "XCFB_ENVIRONMENT": ("qa", "environment", "qa"),
}
DEFAULTS = {
    "redis_url": None, "database_url": None, "freshbooks_api_url": "https://api.freshbooks.com",
    "freshbooks_account_id": None, "freshbooks_access_token": None, "freshbooks_client_id": None,
    "freshbooks_client_secret": None, "freshbooks_redirect_uri": None, "token_key": None,
    "freshbooks_authorize_url": None,
    "xcart_webhook_secrets": (), "xcart_api_url": None, "xcart_api_token": None, "rules_path": None,
    "max_retries": 8, "retry_base_seconds": 2.0, "retry_cap_seconds": 300.0, "alert_webhook_url": None,
    "metrics_token": None, "outage_alert_seconds": 120.0, "visibility_timeout": 3600, "stuck_after_seconds": 3600,
    "requeue_interval": 60.0, "max_requeues": 3, "catch_up_interval": 30.0, "catch_up_overlap": 600.0,
    "catch_up_start": 86400.0, "store_id": "xcart", "dedupe_ttl_seconds": 7 * 24 * 3600,
    "max_body_bytes": 1024 * 1024, "signature_tolerance_seconds": 300, "public_url": None,
    "webhook_secrets_cache_seconds": 10.0,
    "reconcile_interval": 86400.0, "reconcile_overlap": 86400.0, "rates_interval": 21600.0,
    "environment": "prod", "rules_refresh_seconds": 5.0, "console_session_hours": 12.0, "console_sign_in_attempts": 5,
    "console_sign_in_window_seconds": 900,
}


@pytest.fixture
def environment(monkeypatch, tmp_path):
    """An environment with none of the variables set, the working directory a fresh one."""
    for variable in VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def plain(value):
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, tuple):
        return tuple(plain(each) for each in value)
    return value


def values(settings: Settings) -> dict:
    return {name: plain(value) for name, value in settings}


def test_the_table_covers_every_variable_declared():
    assert set(VARIABLES) == set(Settings().as_environment())


def test_unset_means_the_defaults(environment, tmp_path):
    assert values(Settings.from_env()) == {"home": tmp_path / "var", **DEFAULTS}


def test_every_variable_is_read(environment):
    for variable, (text, _, _) in VARIABLES.items():
        environment.setenv(variable, text)
    settings = Settings.from_env()
    assert {attribute: plain(getattr(settings, attribute)) for _, attribute, _ in VARIABLES.values()} == {
        attribute: read for _, attribute, read in VARIABLES.values()}


def test_empty_means_unset(environment, tmp_path):
    for variable in VARIABLES:
        environment.setenv(variable, "")
    assert values(Settings.from_env()) == {"home": tmp_path / "var", **DEFAULTS}


def test_a_relative_home_is_made_absolute(environment, tmp_path):
    environment.setenv("XCFB_HOME", "data")
    assert Settings.from_env().home == tmp_path / "data"


@pytest.mark.parametrize("text, secrets", [("one", ("one",)), (" new , old ", ("new", "old")),
                                           ("new,,old,", ("new", "old")), (",", ())])
def test_webhook_secrets_are_a_comma_separated_list(environment, text, secrets):
    environment.setenv("XCART_WEBHOOK_SECRETS", text)
    assert plain(Settings.from_env().xcart_webhook_secrets) == secrets


@pytest.mark.parametrize("variable, text, expected", [
    ("XCFB_MAX_RETRIES", "abc", "XCFB_MAX_RETRIES: input should be a valid integer"),
    ("XCFB_VISIBILITY_TIMEOUT", "1h", "XCFB_VISIBILITY_TIMEOUT: input should be a valid integer"),
    ("XCFB_RETRY_BASE_SECONDS", "fast", "XCFB_RETRY_BASE_SECONDS: input should be a valid number"),
])
def test_a_bad_value_is_an_error_naming_the_variable_and_the_value(environment, variable, text, expected):
    environment.setenv(variable, text)
    with pytest.raises(SettingsError) as raised:
        Settings.from_env()
    message = str(raised.value)
    assert message.startswith(expected)
    assert message.endswith(f"got {text!r}")
    assert "\n" not in message and "pydantic" not in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_every_bad_value_is_named_at_once(environment):
    environment.setenv("XCFB_MAX_RETRIES", "many")
    environment.setenv("XCFB_MAX_REQUEUES", "few")
    with pytest.raises(SettingsError, match=r"XCFB_MAX_RETRIES: .*'many'; XCFB_MAX_REQUEUES: .*'few'"):
        Settings.from_env()


def test_the_retry_cap_must_be_below_the_visibility_timeout(environment):
    environment.setenv("XCFB_RETRY_CAP_SECONDS", "3600")
    with pytest.raises(SettingsError) as raised:
        Settings.from_env()
    assert str(raised.value).startswith("XCFB_RETRY_CAP_SECONDS (3600) must be below XCFB_VISIBILITY_TIMEOUT (3600)")
    environment.setenv("XCFB_VISIBILITY_TIMEOUT", "3601")
    assert Settings.from_env().retry_cap_seconds == 3600.0


def test_the_retry_cap_rule_holds_for_keyword_construction_and_replace():
    with pytest.raises(SettingsError, match="XCFB_RETRY_CAP_SECONDS .* must be below XCFB_VISIBILITY_TIMEOUT"):
        Settings(retry_cap_seconds=20, visibility_timeout=15)
    with pytest.raises(SettingsError, match="XCFB_RETRY_CAP_SECONDS .* must be below XCFB_VISIBILITY_TIMEOUT"):
        Settings(retry_cap_seconds=5).replace(visibility_timeout=5)


def test_secrets_never_appear_in_repr_or_str():
    secrets = {"freshbooks_access_token": "tok_hidden_1", "freshbooks_client_secret": "cs_hidden_2",
               "token_key": "key_hidden_3", "xcart_api_token": "xc_hidden_4", "metrics_token": "mt_hidden_5"}
    settings = Settings(**secrets, xcart_webhook_secrets=("wh_hidden_6", "wh_hidden_7"))
    shown = repr(settings) + str(settings) + repr(settings.model_dump())
    for secret in [*secrets.values(), "wh_hidden_6", "wh_hidden_7"]:
        assert secret not in shown
    assert settings.freshbooks_access_token.get_secret_value() == "tok_hidden_1"  # kept, only hidden


def test_keyword_construction_takes_the_defaults_not_the_environment(environment):
    environment.setenv("XCFB_MAX_RETRIES", "5")
    environment.setenv("REDIS_URL", "redis://elsewhere:6379/0")
    settings = Settings(max_retries=3)
    assert (settings.max_retries, settings.redis_url) == (3, None)


def test_an_unknown_keyword_is_refused():
    with pytest.raises(SettingsError, match="max_retry: extra inputs are not permitted"):
        Settings(max_retry=3)


def test_replace_validates_the_new_values():
    changed = Settings(max_retries=3).replace(xcart_webhook_secrets=("s1",), retry_cap_seconds="7.5")
    assert (plain(changed.xcart_webhook_secrets), changed.retry_cap_seconds, changed.max_retries) == (("s1",), 7.5, 3)
    with pytest.raises(SettingsError, match="XCFB_MAX_RETRIES: input should be a valid integer, .*got 'x'"):
        changed.replace(max_retries="x")


def test_the_environment_of_child_processes_reads_back_the_same_settings(environment):
    environment.setenv("REDIS_URL", "redis://inherited:6379/0")  # unset below: the child must not get it back
    settings = Settings(home=Path("/srv/stage"), freshbooks_api_url="http://127.0.0.1:9", metrics_token="m",
                        xcart_webhook_secrets=("new", "old"), rules_path=Path("/etc/rules.yaml"), max_retries=30,
                        retry_base_seconds=0.2, retry_cap_seconds=5.0, visibility_timeout=15)
    child = settings.as_environment()
    assert child["XCART_WEBHOOK_SECRETS"] == "new,old" and child["REDIS_URL"] == ""
    for variable, text in child.items():
        environment.setenv(variable, text)
    assert Settings.from_env() == settings
