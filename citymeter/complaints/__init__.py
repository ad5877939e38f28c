"""Civil complaints: Open311 GeoReport v2 service requests, their import and service levels."""
