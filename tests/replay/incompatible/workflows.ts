// A deliberately incompatible change to invoiceDunning (a new timer before anything
// else, not behind patched()): replaying a stored history against it must fail.
import { sleep } from '@temporalio/workflow';
import { invoiceDunning as current } from '../../../workflows/invoice-dunning';
import type { InvoiceDunningInput } from '../../../contracts/messages';

export async function invoiceDunning(input: InvoiceDunningInput) {
  await sleep('1 hour');
  return current(input);
}
