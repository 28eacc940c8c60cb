"""Connector plugins for third-party sync: the base class, the registry and the built-in ones.

A connector is a class (`hub.integrations.connectors.base.Connector`) registered under the
Python entry-point group `hub.connectors`; see README, "Writing a connector".
Connectors take plain values and return plain values: they know nothing of
models, tenants or the job pipeline.
"""
