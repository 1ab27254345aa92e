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
