# syntax=docker/dockerfile:1
# digestbot's image: wheels are built in one stage; the runtime stage installs only those wheels
# (the versions pinned in requirements.txt, `make lock`) and runs as a non-root user.
#   docker build -t digestbot .
#   docker run --env-file .env -p 8000:8000 digestbot            # web (the default command)
#   docker run --env-file .env --no-healthcheck digestbot clock  # the scheduler
# compose.yaml runs web, clock and PostgreSQL together.
ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS build
WORKDIR /src
# Only what the wheel is built from: no tests, no .git, no local databases.
COPY pyproject.toml README.md requirements.txt ./
COPY bot/ bot/
COPY adapters/ adapters/
COPY scheduler/ scheduler/
COPY digestbot/ digestbot/
COPY prompts/ prompts/
# requirements.txt pins every dependency and lists `.` (this checkout): one wheel for each.
RUN --mount=type=cache,target=/root/.cache/pip \
    pip wheel --wheel-dir /wheels --requirement requirements.txt

FROM python:${PYTHON_VERSION}-slim AS runtime
# git: local repositories (`repos = ["/srv/git/tools"]`) are read with the git command.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    # Mounted repositories belong to another uid; without this git refuses to read them.
    && git config --system --add safe.directory '*' \
    && useradd --create-home --uid 10001 --user-group digestbot
ENV VIRTUAL_ENV=/opt/digestbot \
    PATH=/opt/digestbot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=8000
# The wheels are mounted from the build stage for this one step: none stays in a layer.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m venv "$VIRTUAL_ENV" \
    && pip install --no-cache-dir --no-index --no-deps /wheels/*.whl \
    && pip check
USER 10001:10001
WORKDIR /home/digestbot
EXPOSE 8000
# For the web role (the default command); clock and worker serve no HTTP: run them with
# --no-healthcheck, as compose.yaml does.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]
ENTRYPOINT ["digestbot"]
CMD ["web"]
