"""The city at a glance: its districts, their boundaries and a few headline figures."""
