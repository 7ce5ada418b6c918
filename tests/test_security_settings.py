"""Production settings, the deploy check, mail configuration and startup warnings."""

import os
import runpy
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

SETTINGS_FILE = Path(__file__).resolve().parent.parent / "config" / "settings.py"
REPO = SETTINGS_FILE.parent.parent


def _production_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JALIN_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    # The browser tests allow async-unsafe ORM use in this process; a real deployment never
    # has that, and the deploy check rightly flags it (async.E001).
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.update(
        {
            "JALIN_ENV": "production",
            "JALIN_SECRET_KEY": secrets.token_urlsafe(64),
            "JALIN_ALLOWED_HOSTS": "jalin.example.com",
            **extra,
        }
    )
    return env


def _jalin(args, env):
    return subprocess.run(  # noqa: S603 - fixed argv: this interpreter, our own command
        [sys.executable, "-m", "jalin", *args], cwd=REPO, env=env, capture_output=True,
        text=True, timeout=120,
    )


def _load_settings(monkeypatch, **env):
    for name in list(os.environ):
        if name.startswith("JALIN_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))


def test_deploy_check_passes_with_production_settings():
    result = _jalin(["check", "--deploy", "--fail-level", "WARNING"], _production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_check_fails_with_development_settings():
    # Proves the check above can fail: without JALIN_ENV=production the same check complains.
    env = _production_env()
    env.pop("JALIN_ENV")
    result = _jalin(["check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode != 0
    assert "security.W" in result.stderr + result.stdout


@pytest.mark.parametrize("jalin_env", ["development", "production"])
def test_startup_emits_no_deprecation_warnings(jalin_env):
    env = _production_env(JALIN_ENV=jalin_env)
    env["PYTHONWARNINGS"] = "error::DeprecationWarning,error::PendingDeprecationWarning"
    result = _jalin(["check"], env)
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr


def test_production_requires_secret_key():
    env = _production_env()
    env.pop("JALIN_SECRET_KEY")
    result = _jalin(["check"], env)
    assert result.returncode != 0
    assert "JALIN_SECRET_KEY" in result.stderr


def test_production_settings_harden_cookies_and_transport(monkeypatch):
    conf = _load_settings(
        monkeypatch, JALIN_ENV="production", JALIN_SECRET_KEY="x" * 60,
        JALIN_ALLOWED_HOSTS="jalin.example.com",
    )
    assert conf["DEBUG"] is False
    assert conf["SESSION_COOKIE_SECURE"] and conf["CSRF_COOKIE_SECURE"]
    assert conf["SESSION_COOKIE_HTTPONLY"]
    assert conf["SESSION_COOKIE_NAME"].startswith("__Secure-")
    assert conf["CSRF_COOKIE_NAME"].startswith("__Secure-")
    assert conf["SECURE_SSL_REDIRECT"] is True
    assert conf["SECURE_HSTS_SECONDS"] >= 31536000
    assert conf["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert conf["ALLOWED_HOSTS"] == ["jalin.example.com"]


def test_password_hasher_is_argon2_first(monkeypatch):
    conf = _load_settings(monkeypatch)
    assert conf["PASSWORD_HASHERS"][0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_mail_goes_to_console_by_default(monkeypatch):
    conf = _load_settings(monkeypatch)
    assert conf["MAILERS"] == {
        "default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    }
    # The deprecated EMAIL_* settings must not be set next to MAILERS (Django refuses both).
    assert not {"EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT"} & conf.keys()


def test_mail_goes_over_smtp_when_host_is_set(monkeypatch):
    conf = _load_settings(
        monkeypatch, JALIN_EMAIL_HOST="smtp.example.com", JALIN_EMAIL_PORT="2525",
        JALIN_EMAIL_USER="mailer", JALIN_EMAIL_PASSWORD="s3cret",
    )
    mailer = conf["MAILERS"]["default"]
    assert mailer["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert mailer["OPTIONS"] == {
        "host": "smtp.example.com", "port": 2525, "username": "mailer", "password": "s3cret",
        "use_tls": True, "use_ssl": False, "timeout": 10,
    }


@pytest.mark.parametrize("flag", ["1", "true"])
def test_smtp_implicit_tls_turns_off_starttls(monkeypatch, flag):
    conf = _load_settings(monkeypatch, JALIN_EMAIL_HOST="smtp.example.com",
                          JALIN_EMAIL_USE_SSL=flag)
    options = conf["MAILERS"]["default"]["OPTIONS"]
    assert options["use_ssl"] is True and options["use_tls"] is False


def test_production_without_mail_host_relays_through_localhost(monkeypatch):
    conf = _load_settings(
        monkeypatch, JALIN_ENV="production", JALIN_SECRET_KEY="x" * 60,
        JALIN_ALLOWED_HOSTS="jalin.example.com",
    )
    mailer = conf["MAILERS"]["default"]
    assert mailer["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (mailer["OPTIONS"]["host"], mailer["OPTIONS"]["port"]) == ("localhost", 25)
