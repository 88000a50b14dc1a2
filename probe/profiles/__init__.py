"""Site knowledge as data: one YAML profile per site."""
