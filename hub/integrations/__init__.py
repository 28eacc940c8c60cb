"""Adapters to the outside world: plain values in, plain values out."""
