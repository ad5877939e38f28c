"""Places: cities and their tree of areas (district, neighbourhood, …) with codes and boundaries."""
