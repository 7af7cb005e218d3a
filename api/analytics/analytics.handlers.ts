import { tenantSummary } from '../../prisma/analytics';
import { withDb } from '../dependencies';
import { ApiError } from '../errors';
import type { AppRouteHandler } from '../types';
import { DEFAULT_SUMMARY_DAYS, MAX_SUMMARY_DAYS, type GetSummaryRoute } from './analytics.routes';

const DAY_MS = 86_400_000;
// A date without a time is read as UTC midnight, which Date.parse does only for the bare YYYY-MM-DD form.
const parseInstant = (value: string) => new Date(value.length === 10 ? `${value}T00:00:00Z` : value);

export const getSummary: AppRouteHandler<GetSummaryRoute> = async (c) => {
  const query = c.req.valid('query');
  const to = query.to ? parseInstant(query.to) : new Date();
  const from = query.from ? parseInstant(query.from) : new Date(to.getTime() - DEFAULT_SUMMARY_DAYS * DAY_MS);
  if (from.getTime() > to.getTime()) throw new ApiError('invalid_request', 'from must not be after to');
  if (to.getTime() - from.getTime() > MAX_SUMMARY_DAYS * DAY_MS) {
    throw new ApiError('invalid_request', `The range from..to spans more than ${MAX_SUMMARY_DAYS} days`);
  }
  const summary = await withDb(c, (db) => tenantSummary(db, c.var.tenantId, { from, to }, query.groupBy));
  return c.json({ from: from.toISOString(), to: to.toISOString(), groupBy: query.groupBy, ...summary }, 200);
};
