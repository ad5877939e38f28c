"""The ETSI NGSI-LD core API (context information management) over CityMeter's entity store."""
