"""The `citymeter` command line: one Typer sub-app per feature over the same services."""
