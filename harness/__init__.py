"""The test harness around the service: the demo stage, the fault suite, a TCP proxy for database
outages and the books check. Beside the sandboxes, outside the runtime: no runtime package imports it."""
