// The one test for "this row exists already" that the API and the activities share.

/** An error and its causes, outermost first (bounded: a cycle must not hang us). */
export function causeChain(err: unknown): unknown[] {
  const out: unknown[] = [];
  let cur: unknown = err;
  for (let i = 0; cur && i < 8; i++) {
    out.push(cur);
    cur = (cur as { cause?: unknown }).cause;
  }
  return out;
}

/**
 * A unique-constraint violation: Prisma's P2002, or a raw query's (P2010) driver error
 * 23505, which the activities used to miss (a raw insert racing on the same key).
 */
export function isUniqueViolation(err: unknown): boolean {
  return causeChain(err).some((e) => {
    const { code, meta } = e as { code?: unknown; meta?: { driverAdapterError?: { cause?: { originalCode?: unknown; kind?: unknown } } } };
    const driver = meta?.driverAdapterError?.cause;
    return code === 'P2002' || code === '23505' || driver?.originalCode === '23505' || driver?.kind === 'UniqueConstraintViolation';
  });
}
