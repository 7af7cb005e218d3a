import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes; the dev server registers them at start (infra) and production clusters
 * with `temporal operator search-attribute create` (README). Keep names and types in step with both.
 */
export const IntakeStatus = defineSearchAttributeKey('IntakeStatus', SearchAttributeType.KEYWORD);
export const IntakeTenant = defineSearchAttributeKey('IntakeTenant', SearchAttributeType.KEYWORD);
export const IntakeContentType = defineSearchAttributeKey('IntakeContentType', SearchAttributeType.KEYWORD);
export const IntakeFilename = defineSearchAttributeKey('IntakeFilename', SearchAttributeType.TEXT);
export const IntakeExpiresAt = defineSearchAttributeKey('IntakeExpiresAt', SearchAttributeType.DATETIME);
export const IntakeHold = defineSearchAttributeKey('IntakeHold', SearchAttributeType.BOOL);

/** Name → CLI type, for `temporal server start-dev --search-attribute Name=Type`. */
export const SEARCH_ATTRIBUTE_TYPES: Record<string, string> = {
  IntakeStatus: 'Keyword',
  IntakeTenant: 'Keyword',
  IntakeContentType: 'Keyword',
  IntakeFilename: 'Text',
  IntakeExpiresAt: 'Datetime',
  IntakeHold: 'Bool',
};
