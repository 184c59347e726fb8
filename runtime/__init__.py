"""The composition root and what watches the service run: Services built from Settings (`bootstrap`),
metrics, alerts, the FreshBooks callback registry."""
