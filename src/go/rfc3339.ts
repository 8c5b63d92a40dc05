// Go's time.Parse(time.RFC3339, s) first tries a strict fast parser and, when that fails,
// falls back to the generic layout parser for "2006-01-02T15:04:05Z07:00". The generic
// parser accepts a superset of the fast one (a one-digit hour, a comma before the
// fraction, zone offsets up to +24:60) and both yield the same instant when both accept,
// so only the generic parser's rules are implemented here.

const CH_0 = 48;

function digitAt(s: string, i: number): number {
  const d = s.charCodeAt(i) - CH_0;
  return d >= 0 && d <= 9 ? d : -1;
}

// Reads a two-digit field at i: -1 unless both characters are digits.
function twoDigits(s: string, i: number): number {
  const a = digitAt(s, i);
  const b = digitAt(s, i + 1);
  return a < 0 || b < 0 ? -1 : a * 10 + b;
}

function isLeap(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

// Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's
// days_from_civil), valid for the years 0..9999 that the parser admits.
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = month > 2 ? month - 3 : month + 9;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/**
 * Parses `s` like Go's `time.Parse(time.RFC3339, s)` and returns `t.Unix()`, or undefined
 * where Go reports an error.
 *
 * Accepted: `YYYY-MM-DDTHH:MM:SS[.frac]Z` or with a `±hh:mm` offset; uppercase `T` and `Z`
 * only; a four-digit year (0000-9999), two-digit month, day, minute and second, and a one-
 * or two-digit hour (Go's layout parser allows `T1:05:00`). Ranges: month 1-12, day within
 * the month (leap years included), hour 0-23, minute and second 0-59 (no leap second),
 * offset hour 0-24 and minute 0-60. The fraction is any number of digits after `.` or
 * `,`; it never changes the result, because Unix() floors and the fraction is always
 * non-negative. Nothing may follow the zone.
 */
export function parseGoRfc3339Seconds(s: string): number | undefined {
  const len = s.length;
  // The shortest accepted form is 19 characters ("2006-01-02T1:04:05Z"), and the date
  // separator check below rejects most non-timestamps without further work.
  if (len < 19 || s.charCodeAt(4) !== 45 /* - */) return undefined;

  const y0 = digitAt(s, 0);
  const y1 = digitAt(s, 1);
  const y2 = digitAt(s, 2);
  const y3 = digitAt(s, 3);
  if (y0 < 0 || y1 < 0 || y2 < 0 || y3 < 0) return undefined;
  const year = y0 * 1000 + y1 * 100 + y2 * 10 + y3;

  const month = twoDigits(s, 5);
  if (month < 1 || month > 12 || s.charCodeAt(7) !== 45 /* - */) return undefined;
  const day = twoDigits(s, 8);
  if (day < 0 || s.charCodeAt(10) !== 84 /* T */) return undefined;

  let i = 11;
  const h0 = digitAt(s, i);
  if (h0 < 0) return undefined;
  let hour = h0;
  const h1 = digitAt(s, i + 1);
  if (h1 >= 0) {
    hour = h0 * 10 + h1;
    i += 2;
  } else {
    i += 1;
  }
  if (hour > 23 || s.charCodeAt(i) !== 58 /* : */) return undefined;
  const minute = twoDigits(s, i + 1);
  if (minute < 0 || minute > 59 || s.charCodeAt(i + 3) !== 58 /* : */) return undefined;
  const second = twoDigits(s, i + 4);
  if (second < 0 || second > 59) return undefined;
  i += 6;

  // A fraction needs '.' or ',' and at least one digit; otherwise the zone must follow.
  const sep = s.charCodeAt(i);
  if ((sep === 46 || sep === 44) && digitAt(s, i + 1) >= 0) {
    i += 2;
    while (i < len && digitAt(s, i) >= 0) i++;
  }

  let offset = 0;
  const z = s.charCodeAt(i);
  if (z === 90 /* Z */) {
    i += 1;
  } else {
    if (len - i < 6 || s.charCodeAt(i + 3) !== 58 /* : */) return undefined;
    const oh = twoDigits(s, i + 1);
    const om = twoDigits(s, i + 4);
    if (oh < 0 || om < 0 || oh > 24 || om > 60) return undefined;
    if (z === 43 /* + */) offset = (oh * 60 + om) * 60;
    else if (z === 45 /* - */) offset = -(oh * 60 + om) * 60;
    else return undefined;
    i += 6;
  }
  if (i !== len) return undefined;

  // Go validates the day only after the whole string has parsed; the outcome is the same.
  const maxDay = month === 2 && isLeap(year) ? 29 : (DAYS_IN_MONTH[month - 1] as number);
  if (day < 1 || day > maxDay) return undefined;

  return daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
}
