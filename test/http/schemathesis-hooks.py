"""Schemathesis hooks for test/http/schemathesis.test.ts (loaded through the `hooks` entry of the config it writes)."""

import os
import uuid

import schemathesis

# Ids the run must not delete: its own API key (revoking it would leave the rest of the run answering 401) and the
# role its creates name.
PROTECTED = set(filter(None, os.environ.get("USHER_PROTECTED_IDS", "").split(",")))
# host:port of the API under test, which the run's invitations redirect to.
REDIRECT_HOST = os.environ.get("USHER_REDIRECT_HOST", "")


@schemathesis.hook
def before_call(context, case, kwargs):
    params = case.path_parameters or {}
    for name, value in list(params.items()):
        # A link whose source value was null (a credential without a user, say) reaches the path as "None": a request
        # no client would make. An id that names nothing stands in.
        if value is None or value == "None":
            params[name] = str(uuid.uuid4())
    if case.method.upper() == "DELETE" and str(params.get("id")) in PROTECTED:
        params["id"] = str(uuid.uuid4())
    # A protected role keeps its slug (the generated creates name it).
    if case.method.upper() == "PATCH" and case.operation.path == "/v1/roles/{id}" and str(params.get("id")) in PROTECTED and isinstance(case.body, dict):
        case.body.pop("slug", None)
    # The stateful phase edits the tenant between creates: an allow-list without the run's own host would make every
    # later create with the run's redirect URL a correct 400 (redirect-not-allowed) that the run counts as a rejection.
    body = case.body if isinstance(case.body, dict) else None
    if case.method.upper() == "PATCH" and case.operation.path == "/v1/tenant" and body is not None:
        hosts = body.get("allowedRedirectHosts")
        if isinstance(hosts, list) and REDIRECT_HOST and REDIRECT_HOST not in hosts and len(hosts) < 100:
            hosts.append(REDIRECT_HOST)


# Known bugs of the seed adapters (src/compat, another engineer's work), each asserted by an `it.fails` test in
# test/fuzz/seed-http.test.ts so that it is seen when it is fixed. Dropped here so that everything else still counts;
# the run's summary says how many were dropped ("Filtered: N"). None at present (the Mendix SOAP endpoint's 500 for an
# undeclared method is fixed: it is 405 with Allow).
KNOWN_SEED_BUGS = ()


@schemathesis.hook
def filter_failure(context, failure, case, response):
    return not any(known(failure, case, response) for known in KNOWN_SEED_BUGS)
