"""The worker side: Celery entry point, base task, signals, beat schedule."""
