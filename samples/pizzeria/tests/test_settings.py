"""The pizzeria's settings come from ``PIZZERIA_*`` variables; bad ones stop the command
line with a message naming the variable, and the tokens never show."""

from __future__ import annotations

import pytest

from facta import ConfigurationError
from pizzeria.__main__ import main
from pizzeria.settings import DEV_MANAGER_TOKEN, DEV_STAFF_TOKEN, PizzeriaSettings


def test_the_defaults_keep_everything_in_memory_with_development_tokens() -> None:
    settings = PizzeriaSettings.from_env({})

    assert (settings.database_url, settings.host, settings.port) == (None, "127.0.0.1", 8000)
    assert settings.manager_token.get_secret_value() == DEV_MANAGER_TOKEN
    assert settings.staff_token.get_secret_value() == DEV_STAFF_TOKEN
    assert settings.uses_development_tokens and settings.in_memory


def test_settings_are_read_from_pizzeria_variables_and_hide_the_tokens() -> None:
    settings = PizzeriaSettings.from_env(
        {
            "PIZZERIA_DATABASE_URL": "postgresql://mario:s3cret@db/pizzeria",
            "PIZZERIA_MANAGER_TOKEN": "the-manager-secret",
            "PIZZERIA_STAFF_TOKEN": "the-staff-secret",
            "PIZZERIA_PORT": "9000",
        }
    )

    assert (settings.port, settings.uses_development_tokens) == (9000, False)
    assert settings.describe() == "postgresql://mario:***@db/pizzeria"
    assert "the-manager-secret" not in repr(settings)
    assert "the-staff-secret" not in repr(settings)


def test_an_empty_database_url_counts_as_unset() -> None:
    assert PizzeriaSettings.from_env({"PIZZERIA_DATABASE_URL": "  "}).in_memory


@pytest.mark.parametrize(
    ("environment", "variable"),
    [
        pytest.param({"PIZZERIA_PORT": "eighty"}, "PIZZERIA_PORT", id="port-not-a-number"),
        pytest.param({"PIZZERIA_PORT": "70000"}, "PIZZERIA_PORT", id="port-too-high"),
        pytest.param({"PIZZERIA_STAFF_TOKEN": "short"}, "PIZZERIA_STAFF_TOKEN", id="short"),
        pytest.param(
            {"PIZZERIA_MANAGER_TOKEN": "same-token", "PIZZERIA_STAFF_TOKEN": "same-token"},
            "must differ",
            id="same-tokens",
        ),
    ],
)
def test_a_bad_setting_is_refused_naming_it(environment: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigurationError, match=variable):
        PizzeriaSettings.from_env(environment)


def test_the_command_line_stops_on_a_bad_setting_with_exit_code_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PIZZERIA_PORT", "eighty")

    assert main([]) == 2
    assert "PIZZERIA_PORT" in capsys.readouterr().err


def test_serve_help_lists_every_setting_with_the_broker_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--help"])

    assert exited.value.code == 0
    out = capsys.readouterr().out
    for variable in (
        "PIZZERIA_DATABASE_URL",
        "PIZZERIA_HOST",
        "PIZZERIA_PORT",
        "PIZZERIA_MANAGER_TOKEN",
        "PIZZERIA_STAFF_TOKEN",
        "PIZZERIA_BROKER_URL",
        "PIZZERIA_EXCHANGE",
    ):
        assert variable in out
    assert "facta.events" in out


def test_the_banner_says_where_integration_events_are_published() -> None:
    from pizzeria.web.server import banner

    settings = PizzeriaSettings.from_env(
        {"PIZZERIA_BROKER_URL": "amqp://mario:s3cret@rabbit/", "PIZZERIA_EXCHANGE": "pizza"}
    )

    text = banner(settings)

    assert "events         RabbitMQ amqp://mario:***@rabbit/, exchange 'pizza'" in text
    assert "s3cret" not in text


def test_the_banner_says_when_integration_events_are_not_published() -> None:
    from pizzeria.web.server import banner

    text = banner(PizzeriaSettings.from_env({}))

    assert "events         not published (set PIZZERIA_BROKER_URL" in text
