"""Email: send templated or plain messages; list the templates."""
