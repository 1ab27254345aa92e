// Search attributes shown and filterable in the Temporal UI. No personal data:
// ids, stage and amounts only.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const InvoiceNumberKey = defineSearchAttributeKey('InvoiceNumber', SearchAttributeType.KEYWORD);
export const CustomerIdKey = defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD);
export const DunningStageKey = defineSearchAttributeKey('DunningStage', SearchAttributeType.KEYWORD);
export const AmountDueKey = defineSearchAttributeKey('AmountDue', SearchAttributeType.DOUBLE);
export const NextActionAtKey = defineSearchAttributeKey('NextActionAt', SearchAttributeType.DATETIME);

export const ALL_SEARCH_ATTRIBUTES = [InvoiceNumberKey, CustomerIdKey, DunningStageKey, AmountDueKey, NextActionAtKey];

/** `Name=Type` pairs for `temporal server start-dev --search-attribute` and the operator API. */
export const SEARCH_ATTRIBUTE_CLI_ARGS: string[] = ALL_SEARCH_ATTRIBUTES.map(
  // KEYWORD → Keyword, DATETIME → Datetime: the CLI's spelling of the same types.
  (k) => `${k.name}=${k.type.charAt(0)}${k.type.slice(1).toLowerCase()}`,
);
