"""Live entities: typed things (stations, road segments, parking lots, cameras) with their current
attributes, the history of every numeric attribute, and the dead letters of what was refused."""
