"""Import mappings shipped with CityMeter (`--mapping NAME`)."""
