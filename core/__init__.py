"""The bottom layer: what every other package may import, and which imports nothing of this project."""
