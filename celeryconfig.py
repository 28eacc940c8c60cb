"""Celery settings: the one place that names queues and routes.

Broker and result URLs are filled in from the Flask config (`REDIS_URL`) by
`hub.extensions.celery_init_app`, so this file holds no secrets and is safe to
import anywhere.
"""
from kombu import Queue

# JSON only: a message must never be able to execute code on a worker.
task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]
result_accept_content = ["json"]

timezone = "UTC"
enable_utc = True

# At-least-once delivery: ack after the task ran, and put the message back if
# the worker process dies mid-task. Handlers are idempotent (see the job ledger).
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1
task_track_started = True
result_expires = 24 * 3600
broker_connection_retry_on_startup = True
# Fail fast when Redis is down at publish time: the job ledger keeps the job
# and the relay dispatches it later, so the API need not wait. (Publishing
# follows task_publish_retry_policy below and this timeout.)
broker_connection_timeout = 2
# Workers and beat reconnect to the broker until it is back, however long that
# takes: with a retry limit a Redis restart slower than the limit made the
# worker exit (seen in the chaos run), which under honcho stops the whole hub.
broker_connection_max_retries = None
task_publish_retry = True
task_publish_retry_policy = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2,
                             "interval_max": 0.5}
broker_transport_options = {
    # Overridden from CELERY_VISIBILITY_TIMEOUT by celery_init_app.
    "visibility_timeout": 3600,
    "socket_connect_timeout": 2,
}
result_backend_transport_options = {"visibility_timeout": 3600}
# Task events (received, started, succeeded...) are what Flower shows as live task
# state. Each is a broker publish from the worker's main process: on short jobs
# they took about 40% of its CPU. So a worker starts without them and Flower,
# while it runs, turns them on in every worker it sees (its `enable_events`,
# every 5 s): a watched worker reports, an unwatched one does not pay.
# CELERY_TASK_EVENTS=true (hub/config.py) sends them from the start, for
# monitors that do not enable events themselves. Worker heartbeats, which list
# the workers in Flower, are sent either way.
worker_send_task_events = False
# No extra "task-sent" event per publish: it doubled the broker traffic of every
# dispatch; Flower still sees received/started/succeeded from the workers.
task_send_sent_event = False
worker_hijack_root_logger = False
# kombu's Redis transport, raising a connection error (not AttributeError, which
# stops a worker) from a channel whose connection a broker outage closed (hub/broker.py).
broker_transport = "hub.broker:Transport"

QUEUES = ("default", "email", "files", "payments", "sync", "webhooks", "maintenance")
task_default_queue = "default"
task_queues = tuple(Queue(name) for name in QUEUES)
# Jobs name their own queue (a job type's `queue`); housekeeping has its own so a
# backlog of jobs cannot delay the relay.
task_routes = {
    "hub.maintenance.*": {"queue": "maintenance"},
}

# Beat keeps its schedule in a local file (BEAT_SCHEDULE_FILE), not in Redis, so
# a Redis that restarts empty cannot silently stop the relay. Each periodic task
# takes a Redis lock (workers/periodic.py), so a second beat does no double work.
beat_max_loop_interval = 5
