import { z } from 'zod';

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z?$/;

/**
 * What <input type="datetime-local"> sends (2025-01-31T13:45), read as UTC: the console shows
 * every time in UTC. A trailing Z is accepted too.
 */
export const UtcDateTimeSchema = z
  .string()
  .regex(DATE_TIME, 'Use a date and time such as 2025-01-31T13:45 (UTC)')
  .transform((v, ctx) => {
    const date = new Date(v.endsWith('Z') ? v : `${v}Z`);
    if (Number.isNaN(date.getTime())) {
      ctx.addIssue({ code: 'custom', message: 'Not a real date and time' });
      return z.NEVER;
    }
    return date;
  });
