import { ValidationError } from '../errors.js';

/** Marks a group's scope: no business id holds it (business ids are checked to be free of it). */
const GROUP_MARK = '\u0000';

/**
 * The limiter scope of a business that belongs to no group: its own id.
 * @param businessId - the business
 */
export function businessScope(businessId: string): string {
  return businessId;
}

/**
 * The limiter scope of an account group, shared by all the businesses of the group.
 * @param group - the group's name
 */
export function groupScope(group: string): string {
  return `${GROUP_MARK}${group}`;
}

/**
 * The group a scope belongs to, if it is a group's.
 * @param key - a limiter scope
 * @returns the group's name, or undefined for a business's own scope
 */
export function groupOfScope(key: string): string | undefined {
  return key.startsWith(GROUP_MARK) ? key.slice(GROUP_MARK.length) : undefined;
}

/**
 * The scope of a business as its record says.
 * @param businessId - the business
 * @param group - its group, if any
 */
export function scopeOf(businessId: string, group: string | null | undefined): string {
  return group ? groupScope(group) : businessScope(businessId);
}

/**
 * A scope as people read it, for logs and errors: `business 4`, `group twilio-main`.
 * @param key - a limiter scope
 */
export function describeScope(key: string): string {
  const group = groupOfScope(key);
  return group === undefined ? `business ${key}` : `group ${group}`;
}

/**
 * Checks a name used as a business id or group name by the limiter: a non-empty string without
 * the NUL character (it marks group scopes; PostgreSQL cannot store it either).
 * @throws ValidationError naming `field` when it is not
 */
export function checkScopeName(field: string, name: unknown): string {
  if (!isScopeName(name)) throw new ValidationError([{ field, message: SCOPE_NAME_RULE }]);
  return name;
}

/** What {@link checkScopeName} asks of a name, as its error says it. */
export const SCOPE_NAME_RULE = 'must be a non-empty string of at most 255 characters, without NUL';

/**
 * Whether `name` may be a business id or a group name (see {@link checkScopeName}).
 * @param name - the value to check
 */
export function isScopeName(name: unknown): name is string {
  return typeof name === 'string' && name.length > 0 && name.length <= 255 && !name.includes(GROUP_MARK);
}
