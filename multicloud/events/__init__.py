"""Event federation: what an event is (kinds, phases, formats), shared by every layer."""
