import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { parseGoRfc3339Seconds } from '../../src/go/rfc3339.ts';

// Expected values were printed by Go 1.26: time.Parse(time.RFC3339, s) then t.Unix();
// undefined where Parse returned an error (Go's reason in the comment).

const cases: [string, number | undefined][] = [
  ['2022-06-28T00:00:00Z', 1656374400],
  ['2026-02-09T10:05:00Z', 1770631500],
  ['2026-02-09T10:05:00+01:00', 1770627900],
  ['2026-02-09T10:05:00-01:00', 1770635100],
  ['2026-02-09T10:05:00-00:00', 1770631500],
  ['2026-02-09T10:05:00.5+05:30', 1770611700],
  ['1970-01-01T00:00:00Z', 0],
  ['1969-12-31T23:59:59Z', -1],
  // Fractions are accepted with any number of digits and never change Unix(), which floors.
  ['1969-12-31T23:59:59.999999999Z', -1],
  ['1970-01-01T00:00:00.5Z', 0],
  ['2026-02-09T10:05:00.123456789Z', 1770631500],
  ['2026-02-09T10:05:00.1234567891234Z', 1770631500],
  ['2026-02-09T10:05:00,5Z', 1770631500], // Go's layout parser also takes a comma
  // Go's layout parser takes a one-digit hour.
  ['2026-02-09T1:05:00Z', 1770599100],
  ['2026-02-09T01:05:00Z', 1770599100],
  // Calendar edges.
  ['2024-02-29T00:00:00Z', 1709164800],
  ['2000-02-29T00:00:00Z', 951782400],
  ['0000-01-01T00:00:00Z', -62167219200],
  ['9999-12-31T23:59:59Z', 253402300799],
  ['9999-12-31T23:59:59-24:00', 253402387199],
  // Offsets up to 24 hours and 60 minutes pass Go's range check (> 24, > 60 fail).
  ['2026-02-09T10:05:00+24:00', 1770545100],
  ['2026-02-09T10:05:00+23:60', 1770545100],
  ['2026-02-09T10:05:00+24:60', 1770541500],
  // Failures.
  ['', undefined],
  ['2026-02-09', undefined],
  ['2026-02-09 10:05:00Z', undefined], // cannot parse " 10:05:00Z" as "T"
  ['2026-02-09t10:05:00z', undefined],
  ['2026-02-09t10:05:00Z', undefined],
  ['2026-02-09T10:05:00z', undefined], // cannot parse "z" as "Z07:00"
  ['2026-02-09T10:05:00', undefined], // no zone
  ['2026-02-09T10:05:00.5', undefined],
  ['2026-02-09T10:05:00.Z', undefined], // a dot needs a digit
  ['2026-02-09T10:5:00Z', undefined],
  ['2026-02-09T10:05:0Z', undefined],
  ['2026-2-09T10:05:00Z', undefined],
  ['2026-02-9T10:05:00Z', undefined],
  ['26-02-09T10:05:00Z', undefined],
  ['+2026-02-09T10:05:00Z', undefined],
  ['2026-02-09T24:00:00Z', undefined], // hour out of range
  ['2026-02-09T23:60:00Z', undefined], // minute out of range
  ['2026-02-09T23:59:60Z', undefined], // no leap second
  ['2026-13-01T00:00:00Z', undefined], // month out of range
  ['2026-00-01T00:00:00Z', undefined],
  ['2026-01-00T00:00:00Z', undefined], // day out of range
  ['2026-01-32T00:00:00Z', undefined],
  ['2026-04-31T00:00:00Z', undefined],
  ['2023-02-29T00:00:00Z', undefined],
  ['1900-02-29T00:00:00Z', undefined],
  ['2026-02-09T10:05:00+25:00', undefined], // time zone offset hour out of range
  ['2026-02-09T10:05:00+00:61', undefined], // time zone offset minute out of range
  ['2026-02-09T10:05:00+0100', undefined],
  ['2026-02-09T10:05:00+01', undefined],
  ['2026-02-09T10:05:00+1:00', undefined],
  ['2026-02-09T10:05:00 +01:00', undefined],
  ['2026-02-09T10:05:00UTC', undefined],
  ['2026-02-09T10:05:00Z ', undefined], // extra text
  ['2026-02-09T10:05:00Zx', undefined],
  ['2026-02-09T10:05:00+01:00Z', undefined],
  [' 2026-02-09T10:05:00Z', undefined],
];

describe('parseGoRfc3339Seconds', () => {
  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input)} -> ${String(expected)}`, () => {
      assert.equal(parseGoRfc3339Seconds(input), expected);
    });
  }
});
