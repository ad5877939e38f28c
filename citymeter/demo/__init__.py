"""The synthetic demo city: seeded geography, population and monthly statistics, and its build."""
