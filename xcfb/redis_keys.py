"""Every Redis key the service writes, in one place (all under the xcfb: prefix)."""

SEEN = "xcfb:seen:{event_id}"  # webhook deduplication, expires after XCFB dedupe TTL
FRESHBOOKS_VERIFIERS = "xcfb:freshbooks:verifiers"  # callback id -> verifier
ORDER_LOCK = "xcfb:lock:order:{order_id}"
BINDING_LOCK = "xcfb:lock:binding:{kind}:{external_id}"  # one create per client email, item SKU, ...
ALERT = "xcfb:alert:{key}"
OUTAGE_SINCE = "xcfb:outage:{service}:since"
METRICS = "xcfb:metrics"
