"""X-Cart as the service reads it: the webhook envelope (`envelope`), the entities and their schemas
(`schemas`), and the marshmallow fields for X-Cart's several shapes (`fields`)."""
