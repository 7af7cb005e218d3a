import { createRoute, z } from '@hono/zod-openapi';
import { SUMMARY_GROUPS } from '../../prisma/analytics';
import { BEARER_SECURITY, errorResponses } from '../errors';

/** A summary covers at most this many days; longer ranges belong to the analytics views (README, Analytics). */
export const MAX_SUMMARY_DAYS = 366;
export const DEFAULT_SUMMARY_DAYS = 30;

const instant = (name: string, description: string) =>
  z
    .union([z.iso.date(), z.iso.datetime({ offset: true })], {
      error: `${name} must be an ISO 8601 date (2026-12-01) or date-time (2026-12-01T00:00:00Z)`,
    })
    .optional()
    .openapi({ param: { name, in: 'query' }, description, example: '2026-12-01' });

const FiguresSchema = z.object({
  uploads: z.number().int().openapi({ description: 'Uploads created in the range' }),
  bytes: z.number().int().openapi({ description: 'Their declared sizes, summed' }),
  ready: z.number().int().openapi({ description: 'Of them, READY now' }),
  timeToReadyP50Ms: z
    .number()
    .nullable()
    .openapi({ description: 'Median upload-to-READY time; null without READY files' }),
  timeToReadyP95Ms: z.number().nullable(),
});

const SummarySchema = z
  .object({
    from: z.string(),
    to: z.string(),
    groupBy: z.enum(SUMMARY_GROUPS),
    totals: FiguresSchema,
    groups: z.array(
      FiguresSchema.extend({
        key: z.string().openapi({ description: 'The UTC day (YYYY-MM-DD), content type or status' }),
      }),
    ),
  })
  .openapi('AnalyticsSummary');
export type SummaryView = z.infer<typeof SummarySchema>;

export const getSummary = createRoute({
  method: 'get',
  path: '/summary',
  summary: "The tenant's upload figures over a time range, per day, content type or status",
  description:
    `Uploads created in [from, to): counts, bytes and time to READY (p50/p95), from the same analytics ` +
    `views analysts query. Defaults: the last ${DEFAULT_SUMMARY_DAYS} days, grouped by day; at most ` +
    `${MAX_SUMMARY_DAYS} days. A date alone means its 00:00 UTC.`,
  security: BEARER_SECURITY,
  request: {
    query: z.object({
      from: instant('from', 'Start of the range (inclusive)'),
      to: instant('to', 'End of the range (exclusive); default now'),
      groupBy: z
        .enum(SUMMARY_GROUPS)
        .default('day')
        .openapi({ param: { name: 'groupBy', in: 'query' } }),
    }),
  },
  responses: {
    200: { description: 'The figures', content: { 'application/json': { schema: SummarySchema } } },
    ...errorResponses(400, 401),
  },
});
export type GetSummaryRoute = typeof getSummary;
