"""gunicorn settings for the HTTP API: `gunicorn -c gunicorn.conf.py -b HOST:PORT wsgi:app`.

The Procfile, the Dockerfile, the test suite (tests/support/processes.py) and `make bench`
all run this same command, so what is measured is what is deployed.

One gthread process is bound by Python's GIL to one core, so the API runs in
`WEB_CONCURRENCY` processes (default: one per core). Every request here is
short: Socket.IO is served by the `realtime` process (hub/realtime_server), an
asyncio server where an open socket holds no thread, so no number of browser
tabs can take these threads away from the API.
"""
import os
import tempfile

# The API's metrics are summed over its processes through prometheus-client's
# multiprocess files (hub/metrics.py): the directory must be set before the
# library is first imported, which preloading the app does.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="hub-api-metrics-"))

from hub.web import httpserver  # noqa: E402

worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
threads = int(os.environ.get("WEB_THREADS") or 32)
control_socket_disable = True
# Import the app once in the master and fork it: every process is ready at the
# same moment (none left booting while the first takes all the connections) and
# a restart is quicker. create_app() opens no connection (hub/__init__.py);
# post_fork makes sure no pooled database connection is shared anyway.
preload_app = True
# The longest request line gunicorn can take (its default is 4094). Every query a
# list operation documents fits, even at each field's maxLength in 4-byte UTF-8,
# percent-encoded; longer lines are refused with 414, in the envelope like every
# other refusal gunicorn makes itself (hub/web/httpserver.py).
limit_request_line = 8190
httpserver.install()

if os.environ.get("LOG_FORMAT", "").strip().lower() == "json":
    # gunicorn's own lines in the hub's JSON shape too (hub/logs.py), all on stderr
    # through the root logger; the access log stays off, as without this.
    logconfig_dict = {
        "root": {"level": "INFO", "handlers": ["error_console"]},
        "loggers": {"gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
                    "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False}},
        "formatters": {"generic": {"()": "hub.logs.JsonFormatter"}},
    }


def post_fork(server, worker):
    from hub.extensions import db
    from wsgi import app

    with app.app_context():
        db.engine.dispose(close=False)


def on_starting(server):
    # Files left by an earlier run in a directory of the operator's would count twice.
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.remove(os.path.join(directory, name))


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
