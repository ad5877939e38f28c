"""Citizen suggestions: residents propose, others vote, the city answers."""
