import type { Prisma } from '../prisma/db';

/**
 * Values written to Prisma Json columns. Intake's JSON values (renditions, steps) are plain data
 * built from its own types, so they need no conversion, only the type Prisma asks for.
 */
export function toJson(value: object): Prisma.InputJsonValue {
  return value as Prisma.InputJsonValue;
}
