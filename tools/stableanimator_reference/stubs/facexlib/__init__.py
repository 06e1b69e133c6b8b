"""Stand-in for facexlib (its face helper is only reached when insightface finds no face)."""
