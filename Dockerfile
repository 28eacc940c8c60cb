# Image for the api, realtime, worker, beat, flower and migrate services of docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system hub && useradd --system --gid hub --home-dir /app --shell /usr/sbin/nologin hub

WORKDIR /app

# The project is installed (its pinned dependencies with it) and its source also
# stays in /app, the working directory, where migrations/ and static files are found.
COPY pyproject.toml README.md ./
COPY hub ./hub
COPY workers ./workers
COPY tasks ./tasks
COPY migrations ./migrations
COPY celeryconfig.py wsgi.py gunicorn.conf.py ./
RUN pip install . \
    && mkdir -p /app/instance \
    && chown -R hub:hub /app/instance

USER hub

# 5000: the API (gunicorn); 5001: Socket.IO (python -m hub.realtime_server)
EXPOSE 5000 5001

CMD ["gunicorn", "-c", "gunicorn.conf.py", "-b", "0.0.0.0:5000", "wsgi:app"]
