"""Every Redis key the service writes, in one place (all under the xcfb: prefix)."""

SEEN = "xcfb:seen:{event_id}"  # webhook deduplication, expires after XCFB dedupe TTL
ACCEPTED = "xcfb:accepted"  # event id -> "<queue>\n<task message>", till a worker records it (store/accepted.py)
ACCEPTED_AT = "xcfb:accepted:at"  # event id -> when accepted (epoch seconds), till a worker records it
ACCEPTED_RESENDS = "xcfb:accepted:resends"  # event id -> times its kept message was sent again
FRESHBOOKS_VERIFIERS = "xcfb:freshbooks:verifiers"  # callback id -> verifier FreshBooks confirmed
FRESHBOOKS_PENDING_CALLBACKS = "xcfb:freshbooks:pending"  # callback id -> event, registered, not verified yet
FRESHBOOKS_OFFERED_VERIFIERS = "xcfb:freshbooks:offered:{callback_id}"  # verifiers to confirm, expire in a day
FRESHBOOKS_LAST_SUCCESS = "xcfb:freshbooks:last-success"  # epoch seconds of the last request FreshBooks accepted
FRESHBOOKS_OAUTH_STATE = "xcfb:freshbooks:oauth-state:{state}"  # an authorization started, expires in minutes
ORDER_LOCK = "xcfb:lock:order:{order_id}"
BINDING_LOCK = "xcfb:lock:binding:{kind}:{external_id}"  # one create per client email, item SKU, ...
OAUTH_REFRESH_LOCK = "xcfb:lock:oauth-refresh:{connection}"  # one refresh at a time: refresh tokens work once
ALERT = "xcfb:alert:{key}"
OUTAGE_SINCE = "xcfb:outage:{service}:since"
METRICS = "xcfb:metrics"
CATCH_UP_POLLS = "xcfb:catch-up:polls"  # the last catch-up polls, newest first (`xcfb connect status`)
CONSOLE_SIGN_IN_FAILURES = "xcfb:console:sign-in-failures:{who}"  # failed sign-ins by email or address, expire
CHAIN_QUEUED = "xcfb:chain:queued:{order_id}"  # "<cover id> <event id>": the order's chain sent, not started yet
CHAIN_COVERS = "xcfb:chain:covers:{cover}"  # the events taken in meanwhile, which that chain finishes
