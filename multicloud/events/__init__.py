"""Event federation: what an event is (kinds.py), subscriptions and the stored events' REST API."""
