// The failure converter of every Relance worker, workflow bundle and client: failure
// messages and stack traces go into an encoded payload (encodeCommonAttributes), so the
// payload codec encrypts them like any argument (an error message can quote a customer's
// email). Plain CommonJS on purpose: the SDK require()s this path in the worker and the
// client (also from the compiled dist/, without tsx) and webpack puts it in the bundle.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
