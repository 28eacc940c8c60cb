"""Adapters to the outside world (HTTP, SMTP, storage, ...): plain values in and out."""
