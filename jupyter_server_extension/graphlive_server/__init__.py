"""graphlive Jupyter server extension (placeholder until the extension lands)."""
