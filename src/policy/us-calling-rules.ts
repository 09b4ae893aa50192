import type { CallingRule } from './calling-window.js';

/** The +1 prefixes of the given area codes. */
const areaCodes = (codes: string): string[] => codes.split(' ').map((code) => `1${code}`);

/**
 * Calling hours that US law sets for telephone solicitations, as data: the federal rule and the
 * states with stricter hours that could be sourced. Pass them as `window.rules` (they narrow the
 * run's window where they match a lead's number), extend them with your own, or replace them.
 * This is not legal advice: which calls a law covers, and its exceptions, are for your counsel.
 *
 * A rule matches by number prefix, so a state's rule follows the area code, not where the person
 * is (a mobile number keeps its area code when its owner moves). The federal rule matches every
 * +1 number, which includes Canada and the Caribbean: add or swap rules for them.
 *
 * Florida, Oklahoma and Maryland also allow at most 3 calls per 24 hours on one subject; a run's
 * window does not count calls: that cap is not enforced by these rules.
 *
 * Each source names the statute; read on 2026-12-02 from the citations as published by the
 * states, without re-checking the statute text on this machine (no network). Check them before
 * you rely on them.
 */
export const US_CALLING_RULES: readonly CallingRule[] = [
  {
    name: 'US federal (TCPA)',
    numberPrefixes: ['1'],
    hours: [{ start: '08:00', end: '21:00' }],
    // 47 CFR 64.1200(c)(1): no telephone solicitation before 8 a.m. or after 9 p.m. local time at the called party's location.
    source: '47 CFR 64.1200(c)(1) (TCPA rules of the FCC), read 2026-12-02',
  },
  {
    name: 'Florida',
    numberPrefixes: areaCodes(
      '239 305 321 324 352 386 407 448 561 645 656 689 727 728 754 772 786 813 850 863 904 941 954',
    ),
    hours: [{ start: '08:00', end: '20:00' }],
    // Fla. Stat. 501.616(6)(a), as amended by SB 1120 (2021): 8 a.m. to 8 p.m.; (6)(b): 3 calls per 24 h per subject.
    source: 'Fla. Stat. 501.616(6) (Florida Telephone Solicitation Act, as amended 2021), read 2026-12-02',
  },
  {
    name: 'Oklahoma',
    numberPrefixes: areaCodes('405 539 572 580 918'),
    hours: [{ start: '08:00', end: '20:00' }],
    // Okla. Stat. tit. 15, 775C.4 (Telephone Solicitation Act of 2022): 8 a.m. to 8 p.m.; 3 calls per 24 h per subject.
    source: 'Okla. Stat. tit. 15, 775C.4 (Oklahoma Telephone Solicitation Act of 2022), read 2026-12-02',
  },
  {
    name: 'Maryland',
    numberPrefixes: areaCodes('227 240 301 410 443 667'),
    hours: [{ start: '08:00', end: '20:00' }],
    // Md. Code, Com. Law 14-4503 (Stop the Spam Calls Act of 2023): 8 a.m. to 8 p.m.; 3 calls per 24 h per subject.
    source: 'Md. Code, Com. Law 14-4503 (Stop the Spam Calls Act of 2023), read 2026-12-02',
  },
  {
    name: 'Texas',
    numberPrefixes: areaCodes(
      '210 214 254 281 325 346 361 409 430 432 469 512 682 713 726 737 806 817 830 832 903 915 936 940 945 956 972 979',
    ),
    // Tex. Bus. & Com. Code 301.051: not before 9 a.m. or after 9 p.m. weekdays and Saturday; Sunday not before noon or after 9 p.m.
    hours: {
      mon: [{ start: '09:00', end: '21:00' }],
      tue: [{ start: '09:00', end: '21:00' }],
      wed: [{ start: '09:00', end: '21:00' }],
      thu: [{ start: '09:00', end: '21:00' }],
      fri: [{ start: '09:00', end: '21:00' }],
      sat: [{ start: '09:00', end: '21:00' }],
      sun: [{ start: '12:00', end: '21:00' }],
    },
    source: 'Tex. Bus. & Com. Code 301.051, read 2026-12-02',
  },
];
