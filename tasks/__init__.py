"""Thin Celery tasks by domain: take ids, call hub.services, report progress."""
