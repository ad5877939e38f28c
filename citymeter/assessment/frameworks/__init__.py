"""Frameworks shipped with CityMeter (`citymeter frameworks list`)."""
