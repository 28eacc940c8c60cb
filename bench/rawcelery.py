"""The baseline: a bare Celery app with a no-op task, on the same Redis.

`celery -A bench.rawcelery worker` runs it; BENCH_REDIS_URL says where.
"""
import os

from celery import Celery

url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
app = Celery("raw", broker=url, backend=url)
app.conf.update(task_serializer="json", accept_content=["json"], result_serializer="json",
                task_acks_late=True, worker_prefetch_multiplier=1, task_default_queue="raw",
                broker_connection_retry_on_startup=True)


@app.task(name="raw.noop")
def noop() -> None:
    return None
