/**
 * ISO-8601 times for texts written on every request. `new Date(ms).toISOString()` builds a Date and formats every
 * field each time; consecutive calls fall in the same second nearly always, so the text up to the seconds is kept
 * and only the milliseconds are written.
 * @module
 */

/**
 * A formatter equal to `new Date(ms).toISOString()` for every `ms`, remembering the last second it formatted.
 * @example
 * ```ts
 * const iso = createIsoTime();
 * iso(1_700_000_000_123); // '2023-11-14T22:13:20.123Z'
 * ```
 */
export function createIsoTime(): (ms: number) => string {
  let second = Number.NaN;
  // Up to and including the seconds' dot: 'YYYY-MM-DDTHH:MM:SS.'
  let head = '';
  return (ms) => {
    // Fractional or pre-1970 times truncate differently from the split below; years past 9999 are longer. Rare:
    // formatted whole.
    if (!Number.isInteger(ms) || ms < 0) return new Date(ms).toISOString();
    const milli = ms % 1000;
    const at = ms - milli;
    if (at !== second) {
      const whole = new Date(ms).toISOString();
      if (whole.length !== 24) return whole;
      second = at;
      head = whole.slice(0, 20);
    }
    return `${head}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
  };
}
