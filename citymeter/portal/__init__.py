"""The public portal's reads: thin functions over the feature services that decide, per district,
whether the viewer reads internal data or the public view, and the few queries the services lack
(incidents near a point, complaints by district and lateness, open-data datasets)."""
