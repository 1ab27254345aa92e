// Reference data the workflow needs as recorded results: public holidays for the send-window
// maths, from date-holidays (domain/schedule.ts), and the late-payment rate tables from the
// configuration (config/rate-tables.ts), which workflow code never reads itself.
import { ApplicationFailure } from '@temporalio/activity';
import { loadRateTables } from '../config/rate-tables';
import { ValidationFailureType } from '../contracts/failures';
import type { RateTables } from '../domain/rates';
import { publicHolidays } from '../domain/schedule';
import type { CalendarActivities, PublicHolidaysInput } from './types';

/** `rateTables`: the configuration's (validated at start); default the shipped table. */
export function createCalendarActivities(rateTables: RateTables = loadRateTables()): CalendarActivities {
  return {
    async rateTables(): Promise<RateTables> {
      return rateTables;
    },
    async publicHolidays({ country, year }: PublicHolidaysInput): Promise<string[]> {
      if (typeof country !== 'string' || !/^[A-Za-z]{2}$/.test(country)) {
        throw ApplicationFailure.nonRetryable(`country must be an ISO 3166-1 alpha-2 code (got ${JSON.stringify(country)})`, ValidationFailureType);
      }
      if (!Number.isInteger(year) || year < 1970 || year > 2200) {
        throw ApplicationFailure.nonRetryable(`year must be an integer between 1970 and 2200 (got ${JSON.stringify(year)})`, ValidationFailureType);
      }
      return [...publicHolidays(country, year)].sort();
    },
  };
}
