"""The thin webhook receiver: verify, deduplicate, enqueue, answer. No FreshBooks call on this path."""
