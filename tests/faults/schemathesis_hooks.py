# Schemathesis hooks for tests/faults/api-fuzz.test.ts (loaded through
# SCHEMATHESIS_HOOKS=schemathesis_hooks with this folder on PYTHONPATH).
# One extra check: no answer may carry a stack trace or a source path.
import re

import schemathesis

STACK = re.compile(r"\n\s+at [\w.<>\[\] ]+ \(|node_modules/|/work/|\.ts:\d+:\d+|\.js:\d+:\d+|Traceback \(most recent call last\)")


@schemathesis.check
def no_stack_trace(ctx, response, case):
    # Bytes, not response.text: a PDF is not UTF-8 (a trace in one would still be ASCII).
    text = (response.content or b"").decode("utf-8", errors="replace")
    match = STACK.search(text)
    if match:
        raise AssertionError(f"the answer leaks internals: {match.group(0)!r}")


# The inbound mail webhook takes a raw message (message/rfc822): generate RFC 5322 bytes,
# some well-formed (headers, blank line, body), some arbitrary, so its parser sees both.
from hypothesis import strategies as st  # noqa: E402

_header_value = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60)
_mail = st.builds(
    lambda frm, to, subject, body: (
        f"From: {frm}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <fuzz@example.test>\r\n\r\n{body}\r\n"
    ).encode("utf-8"),
    _header_value,
    _header_value,
    _header_value,
    st.text(max_size=400),
)
schemathesis.openapi.media_type("message/rfc822", st.one_of(_mail, st.binary(max_size=2000)))


# ---- positive cases within the rules the document cannot state --------------------
# positive_data_acceptance sends schema-valid requests and expects them accepted. Each rule
# below is one JSON Schema cannot say (a relation between fields, or a reference to data the
# API holds); everything a single field can say, the document says itself (patterns, enums,
# formats, minProperties, anyOf generated from the zod schemas). Only positive cases are
# changed, in before_call (the one hook every phase runs, examples included; Schemathesis
# then re-checks that the case is still positive): negative ones reach the API as generated.
import collections  # noqa: E402
import itertools  # noqa: E402
import os  # noqa: E402

import requests  # noqa: E402

# The API under test (set by tests/faults/api-fuzz.test.ts): to read an invoice's balance.
_BASE_URL = os.environ.get("FUZZ_BASE_URL", "")
_AUTH = {"Authorization": f"Bearer {os.environ.get('FUZZ_API_KEY', '')}"}

_numbers = itertools.count()

# A CSV file is valid when its header names the invoice columns and every row is an
# invoice: a grammar over the whole file, not a string pattern.
_CSV = (
    "number,issue_date,due_date,amount,currency,customer_id,customer_name,customer_kind,customer_country\n"
    "FZ-{n},2026-11-02,2027-01-31,120.00,EUR,FZ-C{n},Fuzz {n} SARL,B2B,FR\n"
)
# A policy is valid when its offsets ascend, its step ids are unique, its fallbacks stay
# within the step's channels, its send window ends after it starts, and its templates name
# its steps with known variables: relations between fields.
_POLICY = {
    "name": "Fuzz policy",
    "audience": "B2B",
    "steps": [
        {"id": "courtesy", "offset": "-P3D", "channels": ["email"], "templateId": "courtesy"},
        {"id": "reminder-1", "offset": "P7D", "channels": ["email"], "templateId": "reminder-1", "fallback": {"email": "letter"}},
    ],
    "sendWindow": {"enabled": True, "start": "09:00", "end": "18:00", "businessDaysOnly": True, "skipPublicHolidays": True},
    "penalties": {"mode": "commercial", "spreadPoints": 10, "fixedIndemnityMinor": 4000},
    "instalmentGrace": "P5D",
    "maxInstalments": 12,
    "promiseGrace": "P2D",
    "agencyListenFor": "P180D",
}
_POLICY_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# Published when the fuzz starts (GET /v1/policies): a reference must name one of them.
_PUBLISHED = {"B2B": "fr-b2b-default", "B2C": "fr-b2c-default"}
# A number valid whatever the customer's country (international form).
_PHONE = "+33612345678"


def _positive(case):
    meta = getattr(case, "meta", None)
    generation = getattr(meta, "generation", None)
    mode = getattr(generation, "mode", None)
    return mode is not None and mode.is_positive


def _walk(value, fn):
    if isinstance(value, dict):
        fn(value)
        for item in value.values():
            _walk(item, fn)
    elif isinstance(value, list):
        for item in value:
            _walk(item, fn)


def _money(obj):
    # "No more decimals than the currency has" (EUR 2, JPY 0) and "a deposit not above the
    # amount" depend on other fields: whole amounts are valid in every currency.
    for key in ("amount", "creditNote", "promisedAmount"):
        item = obj.get(key)
        if isinstance(item, str) and item.replace(".", "", 1).isdigit():
            obj[key] = str(max(1, int(float(item))))
    for key in ("deposit", "amountRecovered"):
        if isinstance(obj.get(key), str):
            obj[key] = "0"


def _phones(obj):
    # Phone numbers are checked against the country of the record (libphonenumber).
    if isinstance(obj.get("phone"), str):
        obj["phone"] = _PHONE


def _balance(number):
    """(minor units, decimals of the currency) of an invoice, or None."""
    try:
        r = requests.get(f"{_BASE_URL}/v1/invoices/{number}", headers=_AUTH, timeout=10)
        if r.status_code != 200:
            return None
        invoice = r.json()
        decimals = len(invoice["balance"].partition(".")[2])
        return int(invoice["balanceMinor"]), decimals
    except (requests.RequestException, ValueError, KeyError, TypeError, AttributeError):
        return None


def _max_instalments(number):
    try:
        invoice = requests.get(f"{_BASE_URL}/v1/invoices/{number}", headers=_AUTH, timeout=10).json()
        policy = invoice["policy"]
        r = requests.get(f"{_BASE_URL}/v1/policies/{policy['id']}/versions/{policy['version']}", headers=_AUTH, timeout=10)
        return int(r.json()["definition"]["maxInstalments"])
    except (requests.RequestException, ValueError, KeyError, TypeError):
        return None


def _to_decimal(minor, decimals):
    if decimals == 0:
        return str(minor)
    return f"{minor // 10**decimals}.{minor % 10**decimals:0{decimals}d}"


@schemathesis.hook
def before_call(ctx, case, kwargs):
    if _positive(case):
        _within_rules(case)


def _within_rules(case):
    path, method = case.operation.path, case.method.upper()
    body = case.body
    if method == "POST" and path in ("/v1/invoices/import", "/v1/imports"):
        case.body = _CSV.format(n=next(_numbers))
        return
    if method in ("POST", "PUT") and path in ("/v1/policies", "/v1/policies/{id}/versions/{version}"):
        generated_id = body.get("id") if isinstance(body, dict) else None
        policy_id = generated_id if isinstance(generated_id, str) and _POLICY_ID.match(generated_id) and generated_id != "resolve" else f"fuzz-{next(_numbers)}"
        case.body = {**_POLICY, "id": policy_id}
        return
    if isinstance(body, (dict, list)):
        _walk(body, _money)
        _walk(body, _phones)
    if isinstance(case.query, dict):
        query = case.query
        # A report period: to not before from.
        if path == "/v1/reports/dso" and isinstance(query.get("from"), str) and isinstance(query.get("to"), str) and query["to"] < query["from"]:
            query["from"], query["to"] = query["to"], query["from"]
        if path == "/v1/policies/resolve":
            # References to policies and customers the API holds.
            for key in ("policyId", "customerPolicyId", "customerId"):
                query.pop(key, None)
            if isinstance(query.get("amount"), str):
                query["amount"] = str(int(float(query["amount"])))
    if not isinstance(body, dict):
        return
    if method == "POST" and path == "/v1/invoices":
        # dueDate may be left out only when the customer on record has an agreed payment term
        # (stored data the document cannot state): a positive case names its due date.
        if not isinstance(body.get("dueDate"), str) and isinstance(body.get("issueDate"), str):
            body["dueDate"] = body["issueDate"]
        if isinstance(body.get("issueDate"), str) and isinstance(body.get("dueDate"), str) and body["dueDate"] < body["issueDate"]:
            body["dueDate"] = body["issueDate"]
        customer = body.get("customer")
        kind = customer.get("kind") if isinstance(customer, dict) else None
        # A policy the catalog holds, written for the customer's kind.
        if "policyId" in body:
            body["policyId"] = _PUBLISHED.get(kind, "fr-b2b-default")
    if path.startswith("/v1/customers"):
        terms = body.get("agreedTerms")
        if isinstance(terms, dict) and isinstance(terms.get("policy"), dict):
            terms["policy"]["policyId"] = _PUBLISHED.get(body.get("kind"), "fr-b2b-default")
        # A note or call names an invoice of this customer; a hold or promise its open invoices
        # (without the list: all of them).
        body.pop("invoiceNumber", None)
        body.pop("invoiceNumbers", None)
        # A promise to pay is about the future.
        if path.endswith("/promises") and "promisedDate" in body:
            body["promisedDate"] = "2099-01-01"
    if method == "PUT" and path == "/v1/policy-rules":
        for rule in body.get("rules") or []:
            if isinstance(rule, dict):
                rule["policyId"] = _PUBLISHED["B2B"]
    # Plans, promises and pauses are about the future.
    if path.endswith("/instalment-plan") and isinstance(body.get("instalments"), list):
        # No more instalments than the invoice's policy allows (maxInstalments).
        limit = _max_instalments((case.path_parameters or {}).get("number"))
        if limit:
            del body["instalments"][limit:]
        items = [item for item in body["instalments"] if isinstance(item, dict)]
        for i, item in enumerate(items):
            item["due"] = f"2099-{(i % 12) + 1:02d}-{(i // 12) + 1:02d}"
        # The instalments add up to the invoice's balance, held by the API.
        balance = _balance((case.path_parameters or {}).get("number"))
        if items and balance:
            minor, decimals = balance
            share = minor // len(items)
            if share > 0:
                for item in items:
                    item["amount"] = _to_decimal(share, decimals)
                items[-1]["amount"] = _to_decimal(minor - share * (len(items) - 1), decimals)
    if path.endswith("/promise-to-pay"):
        body["date"] = "2099-01-01"
    if path.endswith("/pause") and "until" in body:
        body["until"] = "2099-01-01"
    if path.endswith("/calls"):
        # A call on an invoice names that invoice or none; a promise needs an invoice (its
        # currency), so on a customer's page (no invoice of theirs known) it is a plain call.
        if path.startswith("/v1/invoices/"):
            body.pop("invoiceNumber", None)
        elif body.get("outcome") == "promised":
            body["outcome"] = "reached"
        # A promised date and amount go with the outcome "promised" (and a date in the future).
        if body.get("outcome") == "promised":
            body["promisedDate"] = "2099-01-01"
        else:
            body.pop("promisedDate", None)
            body.pop("promisedAmount", None)
        body.pop("phoneTaskId", None)
    if path.endswith("/migrations") and isinstance(body.get("fromVersion"), int):
        # A move goes to another version than it starts from.
        if body.get("toVersion") in (None, body["fromVersion"]):
            body["toVersion"] = body["fromVersion"] + 1 if body["fromVersion"] < 2_147_483_647 else 1
    if path.endswith("/disputes/resolve"):
        # A credit note amount goes with the outcome credit-note.
        if body.get("outcome") == "credit-note":
            body.setdefault("creditNote", "1")
        else:
            body.pop("creditNote", None)
    if path.endswith("/insolvency") and method == "POST":
        # The representative follows the kind of proceedings; judgment then publication, not in the future.
        body["representative"] = {**(body.get("representative") or {}), "role": "liquidateur" if body.get("kind") == "liquidation" else "mandataire"}
        if isinstance(body.get("judgmentDate"), str) and isinstance(body.get("bodaccPublicationDate"), str):
            first, second = sorted([body["judgmentDate"], body["bodaccPublicationDate"]])
            body["judgmentDate"], body["bodaccPublicationDate"] = min(first, "2026-01-01"), min(second, "2026-01-02")
    if path.endswith("/payments"):
        body.pop("currency", None)  # the invoice's own currency
    if "/templates/" in path:
        # A template is LiquidJS: its syntax and variables are a grammar, not a pattern.
        for key in ("body", "subject"):
            if isinstance(body.get(key), str):
                body[key] = body[key].replace("{", "(").replace("}", ")") or "x"


# ---- bounded coverage of the long enums ---------------------------------------------
# The coverage phase sends one valid request per value of each enum: ~300 currencies and
# ~420 time zones on every operation that takes one (invoices, customers, payments), some
# 1,900 of its requests, each creating an invoice or a customer. They are the same zod enum
# as the API checks (tests/api/contract.test.ts compares them), so a sample says as much: the
# first ENUM_SAMPLE values of each, plus the ones with unusual rules (0, 3 and 4 decimals;
# zones with odd offsets). Every other case of the phase is kept.
from schemathesis.generation.meta import CoverageScenario  # noqa: E402

ENUM_SAMPLE = 8
_ALWAYS = {"EUR", "USD", "JPY", "KWD", "CLF", "GBP", "Europe/Paris", "UTC", "Asia/Kolkata", "Pacific/Chatham", "America/St_Johns"}
_ENUM_PROPERTY = re.compile(r"^Object with valid '([^']+)' value: Enum value$")
_enum_cases = collections.Counter()


def _values_of(value, key):
    if isinstance(value, dict):
        for k, item in value.items():
            if k == key:
                yield item
            yield from _values_of(item, key)
    elif isinstance(value, list):
        for item in value:
            yield from _values_of(item, key)


# Positive cases these operations cannot be brought to: whether a step waits for approval, an
# instalment plan is active, or the formal notice is dated already, is the invoice's state,
# not the request's. The workflow refuses
# them with a 422 naming the field; a 409 would say "state" better (left for the owners of
# those updates: api/approvals.ts, the promise-to-pay and notice-posted updates).
_STATE_BOUND = {
    "POST /v1/invoices/{number}/approval",
    "POST /v1/invoices/{number}/promise-to-pay",
    "POST /v1/invoices/{number}/notice-posted",
}


@schemathesis.hook
def filter_case(ctx, case):
    if case.operation.label in _STATE_BOUND and _positive(case):
        return False
    data = getattr(getattr(case, "meta", None), "phase", None)
    data = getattr(data, "data", None)
    if getattr(data, "scenario", None) != CoverageScenario.VALID_OBJECT:
        return True
    match = _ENUM_PROPERTY.match(getattr(data, "description", "") or "")
    if not match:
        return True
    if any(v in _ALWAYS for v in _values_of(case.body, match.group(1))):
        return True
    key = (case.operation.label, match.group(1))
    _enum_cases[key] += 1
    return _enum_cases[key] <= ENUM_SAMPLE


@schemathesis.hook
def before_add_examples(ctx, examples):
    # The examples phase does not run filter_case: the same state-bound exclusion here.
    examples[:] = [case for case in examples if not (case.operation.label in _STATE_BOUND and _positive(case))]
