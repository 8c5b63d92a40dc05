import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../src/config/loadConfig.ts';
import { compileConfig } from '../../../src/engine/compile/compileConfig.ts';
import { ObjectErrors } from '../../../src/engine/ObjectErrors.ts';
import { ObjectIngestor } from '../../../src/engine/store/ObjectIngestor.ts';
import { SeriesCache } from '../../../src/engine/store/SeriesCache.ts';
import { renderFamilies } from '../../../src/exposition/renderFamilies.ts';
import { assertOpenMetricsAccepts } from '../../support/openmetrics.ts';
import { assertPromtoolParses } from '../../support/promtool.ts';
import { hostileThing, ordinaryThing, TAGS_CONFIG } from '../../support/tenantTags.ts';

function ingest(objects: Record<string, unknown>[]) {
  const config = compileConfig(parseConfig(TAGS_CONFIG, 'tags.yaml'));
  const cache = new SeriesCache(config.families);
  const errors = new ObjectErrors();
  const ingestor = new ObjectIngestor(config, cache, errors);
  const outcomes = objects.map((o, i) => ingestor.upsertNow('test', `k${i}`, o));
  return {
    outcomes,
    errors,
    text: renderFamilies(config.families, (f) => cache.blocks(f), 'text'),
    om: renderFamilies(config.families, (f) => cache.blocks(f), 'openmetrics'),
  };
}

describe('label names from data (star keys over a free-form map)', () => {
  it('a key "" or "__name__" in one tenant object leaves the exposition valid for promtool and OpenMetrics', () => {
    const r = ingest([hostileThing(), ordinaryThing()]);
    assert.deepEqual(r.outcomes, ['upserted', 'upserted']);
    // Parses, not lints: a tenant's `le` tag on a gauge is a lint finding, which scrapes accept.
    assertPromtoolParses(r.text);
    assertOpenMetricsAccepts([r.om]);
    // The other team's series are all there.
    assert.match(
      r.text,
      /^thing_replicas\{.*,name="ordinary",namespace="tenant-b",team="b",tier="gold"\} 2$/m,
    );
    assert.match(
      r.text,
      /^thing_phase\{.*name="ordinary",namespace="tenant-b",phase="Ready",team="b",tier="gold"\} 1$/m,
    );
  });

  it('drops empty and reserved names, sanitises the rest, and keeps the series', () => {
    const { text } = ingest([hostileThing()]);
    const replicas = text.split('\n').filter((l) => l.startsWith('thing_replicas{'));
    assert.deepEqual(replicas, [
      // '', '__name__' and '__x' dropped; '9lives' → '_9lives'; 'a.b/c' → 'a_b_c'; 'ünï' → '_n_';
      // the emoji (one code point) → '_', which replaces the key '_' (keys are applied in sorted
      // order, so collisions resolve the same way every time); 'le' is an ordinary name on a gauge.
      'thing_replicas{_="v7",_9lives="v4",_n_="v6",a_b_c="v5",customresource_group="example.com",customresource_kind="Thing",customresource_version="v1",le="v8",name="hostile",namespace="tenant-a"} 3',
    ]);
    assert.doesNotMatch(text, /[{,](|__name__|__x)="/);
    // With the `tag_` prefix nothing is reserved or empty: every key gives a label.
    assert.match(text, /^thing_tag_info\{.*tag_="v0".*tag___name__="v1".*\} 1$/m);
  });

  it('counts the dropped names once per object and family, as invalid-label-name', () => {
    const { errors } = ingest([hostileThing('h1'), hostileThing('h2'), ordinaryThing()]);
    const invalid = errors.summaries().filter((s) => s.kind === 'invalid-label-name');
    // thing_replicas (metric level) and thing_phase (each level); the info's names are prefixed.
    assert.deepEqual(invalid.map((s) => [s.metric, s.count]).sort(), [
      ['thing_phase', 2],
      ['thing_replicas', 2],
    ]);
    assert.match(invalid[0]!.exampleMessage, /\[spec,tags\]|\[tags\]/);
    assert.match(invalid[0]!.exampleMessage, /""|"__name__"/);
    assert.equal(errors.summaries().filter((s) => s.kind !== 'invalid-label-name').length, 0);
  });
});
