"""Maturity assessment and certification: frameworks as data and the scoring rules they imply."""
