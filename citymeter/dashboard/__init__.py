"""The mayor's and district dashboards: one function per panel over the feature services."""
