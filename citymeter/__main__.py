"""Allow `python -m citymeter`."""

from citymeter.cli.main import app

app()
