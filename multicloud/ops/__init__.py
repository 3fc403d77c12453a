"""Operator endpoints: Prometheus metrics and the Swagger UI docs page."""
