"""X-Cart data and its mapping to FreshBooks: payload schemas, the declarative rules, pure mappers."""
