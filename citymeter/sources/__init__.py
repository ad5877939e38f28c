"""Sources: the registry of the city systems CityMeter takes data from."""
