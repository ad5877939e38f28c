"""Incidents: types, a timeline of stages per responding unit, response times, imports, alerts."""
