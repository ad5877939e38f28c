"""Connectors: how CityMeter takes data from a city's systems (file, HTTP pull, HTTP push, MQTT, and
any third-party kind registered in the "citymeter.connectors" entry-point group)."""
