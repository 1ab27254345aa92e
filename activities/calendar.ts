// Public holidays for the workflow's send-window maths, from date-holidays (domain/schedule.ts).
import { ApplicationFailure } from '@temporalio/activity';
import { publicHolidays } from '../domain/schedule';
import type { CalendarActivities, PublicHolidaysInput } from './types';

export function createCalendarActivities(): CalendarActivities {
  return {
    async publicHolidays({ country, year }: PublicHolidaysInput): Promise<string[]> {
      if (typeof country !== 'string' || !/^[A-Za-z]{2}$/.test(country)) {
        throw ApplicationFailure.nonRetryable(`country must be an ISO 3166-1 alpha-2 code (got ${JSON.stringify(country)})`, 'ValidationError');
      }
      if (!Number.isInteger(year) || year < 1970 || year > 2200) {
        throw ApplicationFailure.nonRetryable(`year must be an integer between 1970 and 2200 (got ${JSON.stringify(year)})`, 'ValidationError');
      }
      return [...publicHolidays(country, year)].sort();
    },
  };
}
