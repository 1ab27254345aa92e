# Schemathesis hooks for tests/faults/api-fuzz.test.ts (loaded through
# SCHEMATHESIS_HOOKS=schemathesis_hooks with this folder on PYTHONPATH).
# One extra check: no answer may carry a stack trace or a source path.
import re

import schemathesis

STACK = re.compile(r"\n\s+at [\w.<>\[\] ]+ \(|node_modules/|/work/|\.ts:\d+:\d+|\.js:\d+:\d+|Traceback \(most recent call last\)")


@schemathesis.check
def no_stack_trace(ctx, response, case):
    text = response.text or ""
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
