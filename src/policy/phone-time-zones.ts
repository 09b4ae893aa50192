import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { PREFIX_ZONES, ZONE_LISTS } from './data/phone-time-zones.js';

/** The country calling code of an E.164 number (`1`, `44`), if it has a known one. */
function countryCodeOf(e164: string): string | undefined {
  return parsePhoneNumberFromString(e164)?.countryCallingCode;
}

/** Number prefix (digits, country code first) -> its zones; built on first use, then kept. */
let table: Map<string, readonly string[]> | undefined;

function prefixTable(): Map<string, readonly string[]> {
  if (!table) {
    table = new Map();
    for (const entry of PREFIX_ZONES.split(',')) {
      const [prefix = '', index = ''] = entry.split(':');
      table.set(prefix, (ZONE_LISTS[Number(index)] ?? '').split('&'));
    }
  }
  return table;
}

/**
 * The time zones a phone number may ring in, from its longest known prefix (Google
 * libphonenumber's time zone data): one zone for most numbers, several where an area code spans
 * zones (`+1 907`: Anchorage and Adak). A number whose prefix names only its country, in a
 * country of several zones (a US toll-free number), has no zone of its own: undefined.
 * @param e164 - the number in E.164 form
 * @returns the zones, or undefined when the number tells none
 */
export function timeZonesOfNumber(e164: string): readonly string[] | undefined {
  const digits = e164.replace(/^\+/, '');
  const zones = prefixTable();
  for (let length = digits.length; length > 0; length -= 1) {
    const found = zones.get(digits.slice(0, length));
    if (!found) continue;
    // The country's entry lists every zone of the country: it says nothing of this number's.
    const countryOnly = length === countryCodeOf(e164)?.length && found.length > 1;
    return countryOnly ? undefined : found;
  }
  return undefined;
}
