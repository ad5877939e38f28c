"""Directives: the mayor or a district head orders a department to act, and tracks the answer."""
