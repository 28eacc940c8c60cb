"""Payments (Stripe): invoices, reconciliations, Stripe links and the webhook endpoint."""
