"""gunicorn settings for the API and Socket.IO: `gunicorn -c gunicorn.conf.py -b HOST:PORT wsgi:app`.

The Procfile, the Dockerfile, the test suite (tests/processes.py) and `make bench`
all run this same command, so what is measured is what is deployed.

One gthread process is bound by Python's GIL to one core, so the API runs in
`WEB_CONCURRENCY` processes (default: one per core). Socket.IO stays correct
across them: every process emits through the Redis message queue, and with
more than one process Engine.IO's long-polling transport is turned off
(`SOCKETIO_TRANSPORTS=websocket`), because its requests must all reach the
process that holds the session, which gunicorn cannot promise. A WebSocket is
one connection, so it stays with the process that accepted it. To keep
long-polling (very old browsers, proxies that block WebSockets), run one
process per upstream (WEB_CONCURRENCY=1) behind a load balancer with sticky
sessions.
"""
import os

from hub import httpserver

worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
# Each WebSocket holds a thread of its process for as long as it is open.
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
# other refusal gunicorn makes itself (hub/httpserver.py).
limit_request_line = 8190
httpserver.install()


def post_fork(server, worker):
    from hub.extensions import db
    from wsgi import app

    with app.app_context():
        db.engine.dispose(close=False)


def post_worker_init(worker):
    # On SIGTERM, close the process's WebSockets first, or every stop waits out the
    # graceful timeout for browsers that never leave (hub/httpserver.py).
    httpserver.close_sockets_on_term()


if workers > 1:
    transports = {t.strip() for t in os.environ.get("SOCKETIO_TRANSPORTS", "websocket").split(",")}
    if "polling" in transports:
        raise SystemExit("SOCKETIO_TRANSPORTS includes polling, which needs sticky sessions: "
                         "run one gunicorn worker (WEB_CONCURRENCY=1) per sticky upstream, "
                         "or use SOCKETIO_TRANSPORTS=websocket")
    os.environ["SOCKETIO_TRANSPORTS"] = "websocket"
