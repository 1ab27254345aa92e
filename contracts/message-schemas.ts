// zod schemas of the message vocabularies (contracts/messages.ts), for whoever validates
// messages before sending them (the API's request schemas extend these). Apart from
// messages.ts so that the workflow, which imports the message definitions on every run,
// does not build schemas it has no use for.
import { z } from 'zod';
import { AGENCY_OUTCOME_STATUSES, CANCEL_REASONS, DISPUTE_OUTCOMES } from './messages';

export const DisputeOutcomeSchema = z.enum(DISPUTE_OUTCOMES);
export const CancelReasonSchema = z.enum(CANCEL_REASONS);
export const AgencyOutcomeStatusSchema = z.enum(AGENCY_OUTCOME_STATUSES);
