"""CityMeter: a platform for smart-city offices and the bodies that certify smart cities."""

__version__ = "0.1.0"
