"""The container, compose and Heroku files: checked as far as a machine without a Docker daemon can.

The image itself cannot be built here (docker client, no daemon): test_packaging.py runs the
Dockerfile's build and install commands and its entry command from a fresh venv instead.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from tests.deploy_files import (
    ROOT,
    SECRET_SHAPES,
    app_json,
    compose,
    dockerfile_stages,
    healthcheck,
    known_env,
    procfile,
)

ROLES = ("web", "clock")


def _command(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return command if isinstance(command, list) else str(command).split()


def test_the_procfile_names_the_roles_every_deployment_runs() -> None:
    roles = procfile()
    assert roles["web"] == "digestbot web" and roles["clock"] == "digestbot clock"
    assert roles["release"] == "digestbot migrate"  # Heroku's release phase, compose's `migrate`


def test_compose_runs_the_procfile_roles_on_postgresql_after_migrating() -> None:
    services = compose()["services"]
    assert services["postgres"]["image"] == "postgres:15"
    entry = dockerfile_stages()[-1].last("ENTRYPOINT").value
    for role in (*ROLES, "migrate"):
        service = services[role]
        role_command = procfile()["release" if role == "migrate" else role]
        assert " ".join([*entry, *_command(service)]) == role_command
        assert service["environment"]["DATABASE_URL"].startswith("postgresql://digestbot:${")
    for role in ROLES:
        needs = services[role]["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["restart"] == "no"
    # The optional worker role starts only with `--profile worker`.
    assert services["worker"]["profiles"] == ["worker"] and _command(services["worker"]) == [
        "worker"
    ]


def test_compose_checks_web_health_on_healthz_and_only_there() -> None:
    services = compose()["services"]
    web = services["web"]["healthcheck"]
    assert web["test"] == ["CMD", *healthcheck()] and "/healthz" in web["test"][-1]
    assert all(services[role]["healthcheck"] == {"disable": True} for role in ("clock", "worker"))
    assert services["postgres"]["healthcheck"]["test"][1] == "pg_isready"
    # digestbot drains posts for up to 25 s after SIGTERM: Docker must wait longer than its 10 s.
    assert all(services[role]["stop_grace_period"] == "30s" for role in ROLES)


def test_compose_is_configured_only_through_the_environment_and_a_mounted_toml() -> None:
    data = compose()
    web = data["services"]["web"]
    environment: dict[str, str | None] = web["environment"]
    assert set(environment) <= known_env()
    assert environment["DIGESTBOT_CONFIG"] == "/config/digestbot.toml"
    (mount,) = web["volumes"]
    assert mount["source"] == "./digestbot.toml" and mount["target"] == "/config/digestbot.toml"
    assert mount["read_only"] and mount["bind"]["create_host_path"] is False
    # Secrets are passed through or interpolated, never written here.
    for name, value in environment.items():
        if re.search("TOKEN|SECRET|KEY|PASSWORD", name):
            assert value is None, name
    password = data["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert password == "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
    assert not SECRET_SHAPES.search((ROOT / "compose.yaml").read_text(encoding="utf-8"))


def test_the_dockerfile_is_multi_stage_wheels_only_and_non_root() -> None:
    build, runtime = dockerfile_stages()
    assert build.base == runtime.base == "python:${PYTHON_VERSION}-slim"
    assert "pip wheel" in build.run_with("--requirement requirements.txt").value[0]
    # Nothing is copied into the runtime image: the wheels are bind-mounted for one RUN.
    assert runtime.all("COPY") == [] and runtime.all("ADD") == []
    install = runtime.run_with("pip install")
    assert install.flags == ("--mount=type=bind,from=build,source=/wheels,target=/wheels",)
    assert "--no-index" in install.value[0] and "/wheels/*.whl" in install.value[0]
    assert "install --yes --no-install-recommends git" in runtime.run_with("apt-get").value[0]
    user = runtime.last("USER").value[0]
    assert user.split(":")[0] not in ("root", "0")
    assert runtime.commands.index(runtime.last("USER")) > runtime.commands.index(install)
    env = runtime.last("ENV").value
    assert dict(zip(env[::2], env[1::2], strict=True))["PORT"] == "8000"
    assert "/healthz" in healthcheck()[-1] and "PORT" in healthcheck()[-1]
    entry = [*runtime.last("ENTRYPOINT").value, *runtime.last("CMD").value]
    assert " ".join(entry) == procfile()["web"]


def test_the_build_context_leaves_out_secrets_and_local_state() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".env", ".git", ".venv", "*.sqlite3", "digestbot.toml"} <= set(ignored)


def test_app_json_uses_only_the_keys_heroku_documents() -> None:
    # https://devcenter.heroku.com/articles/app-json-schema
    app = app_json()
    top = {"name", "description", "keywords", "website", "repository", "logo", "success_url"}
    top |= {"scripts", "env", "formation", "image", "addons", "buildpacks", "environments"}
    assert set(app) <= top | {"stack"}
    assert all(
        set(var) <= {"description", "value", "required", "generator"} for var in app["env"].values()
    )
    assert all(set(spec) <= {"quantity", "size"} for spec in app["formation"].values())
    assert app["buildpacks"] == [{"url": "heroku/python"}]


def test_app_json_deploys_web_and_clock_on_heroku_postgres() -> None:
    app = app_json()
    assert "heroku-postgresql" in app["addons"]
    assert set(app["formation"]) == set(ROLES) <= set(procfile())
    assert all(spec["quantity"] == 1 for spec in app["formation"].values())
    env: dict[str, dict[str, Any]] = app["env"]
    assert set(env) <= known_env()
    assert all(var["description"] for var in env.values())
    assert env["DIGEST_LINK_SECRET"] == {
        "description": env["DIGEST_LINK_SECRET"]["description"],
        "generator": "secret",
    }
    # Heroku requires a variable unless told otherwise: every token says which it is.
    tokens = [name for name in env if re.search("TOKEN|SECRET|KEY", name)]
    assert all("required" in env[name] or "generator" in env[name] for name in tokens)
    assert {"SLACK_BOT_TOKEN", "TELEGRAM_BOT_TOKEN", "OPENAI_API_KEY"} <= set(tokens)
    assert not SECRET_SHAPES.search((ROOT / "app.json").read_text(encoding="utf-8"))


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith((" ", "#", ".")):
            requirement = Requirement(line)
            (spec,) = requirement.specifier
            assert spec.operator == "==", line
            pins[requirement.name.lower()] = spec.version
    return pins


def test_the_lock_pins_every_dependency_within_pyproject_ranges() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = _pins()
    wanted = [
        Requirement(r)
        for r in (*project["dependencies"], *project["optional-dependencies"]["chat"])
    ]
    stale = [
        str(r)
        for r in wanted
        if r.name.lower() not in pins or pins[r.name.lower()] not in r.specifier
    ]
    assert stale == [], "requirements.txt is stale: run `make lock`"
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    assert "." in lines  # the app itself: Heroku's pip installs it from the checkout


def test_the_python_version_agrees_everywhere() -> None:
    version = (ROOT / ".python-version").read_text(encoding="utf-8").strip()
    assert re.fullmatch(r"3\.\d+", version)  # the buildpack's recommended major.minor form
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert SpecifierSet(project["requires-python"]).contains(f"{version}.0")
    assert f"ARG PYTHON_VERSION={version}\n" in (ROOT / "Dockerfile").read_text(encoding="utf-8")
