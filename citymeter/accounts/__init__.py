"""Accounts: users and roles, browser sessions, API tokens and the audit log."""
