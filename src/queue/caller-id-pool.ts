import { parsePhoneNumberWithError } from 'libphonenumber-js/max';

/** Most numbers a run's `fromPool` may hold. */
export const MAX_POOL_SIZE = 1000;

/**
 * A run's pool of caller ids (`StartRunInput.fromPool`), to call each lead from a number it may
 * recognise: one that shares its area code (for +1 numbers, the three digits after the country
 * code), else one of its country calling code. Each pool number is parsed once; a lead costs a
 * few map lookups, not a parse.
 */
export class CallerIdPool {
  private readonly byArea = new Map<string, string>();
  private readonly byCountry = new Map<string, string>();

  /**
   * @param numbers - the pool, valid E.164 numbers; the first of each area code and country wins
   */
  constructor(numbers: readonly string[]) {
    for (const number of numbers) {
      const country = parsePhoneNumberWithError(number).countryCallingCode;
      if (!this.byCountry.has(country)) this.byCountry.set(country, number);
      const area = areaCode(number);
      if (area !== undefined && !this.byArea.has(area)) this.byArea.set(area, number);
    }
  }

  /**
   * The pool's number for a lead.
   * @param to - the lead's number, E.164
   * @returns the number sharing its area code, else its country calling code, else undefined
   */
  pick(to: string): string | undefined {
    const area = areaCode(to);
    const local = area === undefined ? undefined : this.byArea.get(area);
    if (local) return local;
    // Country calling codes are 1 to 3 digits and none is a prefix of another.
    for (let digits = 1; digits <= 3; digits++) {
      const match = this.byCountry.get(to.slice(1, 1 + digits));
      if (match) return match;
    }
    return undefined;
  }
}

/** The area code of a +1 (North American) number; undefined for other countries. */
function areaCode(number: string): string | undefined {
  return number.startsWith('+1') && number.length === 12 ? number.slice(2, 5) : undefined;
}
