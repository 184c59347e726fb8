"""The ground floor: what every other package may import, and which imports nothing of this project
(the error taxonomy, settings, Redis key names, the embedded Redis)."""
