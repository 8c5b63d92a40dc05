// Property: whatever keys a tenant puts in a map that a star key copies into labels (any Unicode
// code point, lone surrogates, the empty string, reserved names), the exposition parses for
// promtool and for the OpenMetrics parser, every label name is a valid, unreserved one, and each
// object counts at most one invalid-label-name error per family. FC_SEED / FC_RUNS reproduce or
// widen a run.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseConfig } from '../../../src/config/loadConfig.ts';
import { compileConfig } from '../../../src/engine/compile/compileConfig.ts';
import { ObjectErrors } from '../../../src/engine/ObjectErrors.ts';
import { ObjectIngestor } from '../../../src/engine/store/ObjectIngestor.ts';
import { SeriesCache } from '../../../src/engine/store/SeriesCache.ts';
import { renderFamilies } from '../../../src/exposition/renderFamilies.ts';
import { assertOpenMetricsAccepts } from '../../support/openmetrics.ts';
import { assertPromtoolParses } from '../../support/promtool.ts';
import { HOSTILE_KEYS, tagsConfig, thing } from '../../support/tenantTags.ts';

const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
const RUNS = Number(process.env.FC_RUNS ?? 1);

/** Any UTF-16 code units, lone surrogates included. */
const rawKey = fc
  .array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 6 })
  .map((units) => String.fromCharCode(...units));
const key = fc.oneof(
  // Any code point, U+0000 to U+10FFFF.
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
  rawKey,
  fc.constantFrom(...HOSTILE_KEYS, '__', '___', '_\u00e9', '\u00e9_x', '\u00e9\u00e9', '0', 'team'),
);
const value = fc.oneof(fc.string({ unit: 'binary', maxLength: 6 }), rawKey);
const tags = fc.dictionary(key, value, { maxKeys: 8 });

/** Independent of the code under test: whether a key sanitizes to an empty or `__` name. */
function unusable(k: string): boolean {
  if (k === '') return true;
  const [a, b] = [...k].slice(0, 2).map((c) => (/^[a-zA-Z0-9_]$/.test(c) ? c : '_'));
  return a === '_' && b === '_';
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

describe('property: label names from map keys', () => {
  it('any keys give a valid exposition, valid unreserved names, and at most one error per object and family', () => {
    const text: string[] = [];
    const om: string[] = [];
    let run = 0;
    fc.assert(
      fc.property(fc.array(tags, { minLength: 1, maxLength: 3 }), (tagMaps) => {
        const prefix = `p${run++}`;
        const config = compileConfig(parseConfig(tagsConfig(prefix), 'tags.yaml'));
        const cache = new SeriesCache(config.families);
        const errors = new ObjectErrors();
        const ingestor = new ObjectIngestor(config, cache, errors);
        tagMaps.forEach((t, i) =>
          assert.equal(ingestor.upsertNow('test', `k${i}`, thing(`t${i}`, 'ns', t)), 'upserted'),
        );
        const exposition = renderFamilies(config.families, (f) => cache.blocks(f), 'text');
        for (const line of exposition.split('\n')) {
          if (line === '' || line.startsWith('#')) continue;
          for (const [, name] of line.matchAll(/[{,]([^=]*)="(?:[^"\\]|\\.)*"/g)) {
            assert.match(name!, LABEL_NAME, line);
            assert.ok(!name!.startsWith('__'), line);
          }
        }
        // The gauge copies `spec.tags` under the keys as they are; the info prefixes them.
        const expected = tagMaps.filter((t) => Object.keys(t).some(unusable)).length;
        const counted = (metric: string) =>
          errors
            .summaries()
            .filter((s) => s.kind === 'invalid-label-name' && s.metric === `${prefix}_${metric}`)
            .reduce((n, s) => n + s.count, 0);
        assert.equal(counted('replicas'), expected);
        assert.equal(counted('phase'), expected);
        assert.equal(counted('tag_info'), 0);
        assert.deepEqual(
          errors.summaries().filter((s) => s.kind !== 'invalid-label-name' && s.kind !== 'duplicate-series'),
          [],
        );
        text.push(exposition);
        om.push(renderFamilies(config.families, (f) => cache.blocks(f), 'openmetrics'));
      }),
      { numRuns: 200 * RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) },
    );
    assertPromtoolParses(text.join(''));
    assertOpenMetricsAccepts(om);
  });
});
