"""`make run`'s environment for the processes (scripts/run_hub.child_env): development
defaults fill in, and whatever the user set wins."""
from __future__ import annotations

import run_hub

PORTS = {"HUB_PORT": "5000", "REALTIME_PORT": "5001", "FLOWER_PORT": "5555",
         "MAIL_CATCHER_PORT": "1025", "STRIPE_DEV_PORT": "12111"}


def test_the_usual_frontend_dev_servers_may_call_the_api_unless_cors_origins_is_set():
    env = run_hub.child_env({"PATH": "/usr/bin"}, "redis://127.0.0.1:1/0", PORTS)
    origins = env["CORS_ORIGINS"].split(",")
    for origin in ("http://localhost:3000", "http://localhost:5173", "http://localhost:8080"):
        assert origin in origins
    own = run_hub.child_env({"CORS_ORIGINS": "https://app.example.com"}, "redis://x", PORTS)
    assert own["CORS_ORIGINS"] == "https://app.example.com"
    closed = run_hub.child_env({"CORS_ORIGINS": ""}, "redis://x", PORTS)  # set, even if empty
    assert closed["CORS_ORIGINS"] == ""


def test_payments_go_to_the_local_stripe_unless_a_real_key_is_set():
    local = run_hub.child_env({}, "redis://x", PORTS)
    assert local["STRIPE_API_BASE"] == "http://127.0.0.1:12111"
    assert local["STRIPE_API_KEY"].startswith("sk_test_")
    real = run_hub.child_env({"STRIPE_API_KEY": "sk_test_mine"}, "redis://x", PORTS)
    assert real["STRIPE_API_KEY"] == "sk_test_mine"
    assert real["STRIPE_API_BASE"] == "https://api.stripe.com"


def test_the_ports_redis_and_the_realtime_port_reach_every_process():
    env = run_hub.child_env({"HUB_PORT": "1"}, "redis://127.0.0.1:7/0", {**PORTS, "REALTIME_PORT": "6001"})
    assert env["REDIS_URL"] == "redis://127.0.0.1:7/0"
    assert env["REALTIME_PORT"] == "6001" and env["HUB_PORT"] == "5000"
    assert env["MAIL_SERVER"] == "127.0.0.1" and env["MAIL_PORT"] == "1025"
