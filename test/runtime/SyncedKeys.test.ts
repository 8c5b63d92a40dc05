import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SyncedKeys } from '../../src/runtime/SyncedKeys.ts';

describe('SyncedKeys', () => {
  it('matches a model: after any operations, a listing removes exactly the keys it missed', () => {
    const op = fc.oneof(
      fc.record({
        op: fc.constant('add' as const),
        scope: fc.constantFrom('a', 'b'),
        key: fc.integer({ min: 0, max: 9 }),
      }),
      fc.record({
        op: fc.constant('remove' as const),
        scope: fc.constantFrom('a', 'b'),
        key: fc.integer({ min: 0, max: 9 }),
      }),
      fc.record({ op: fc.constant('begin' as const), scope: fc.constantFrom('a', 'b') }),
      fc.record({ op: fc.constant('end' as const), scope: fc.constantFrom('a', 'b') }),
      fc.record({ op: fc.constant('drop' as const), scope: fc.constantFrom('a', 'b') }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const keys = new SyncedKeys();
        const model = new Map<string, Set<string>>([
          ['a', new Set()],
          ['b', new Set()],
        ]);
        const listing = new Map<string, Set<string>>();
        for (const o of ops) {
          const scope = model.get(o.scope)!;
          switch (o.op) {
            case 'add':
              keys.add(o.scope, `${o.scope}${o.key}`);
              scope.add(`${o.scope}${o.key}`);
              listing.get(o.scope)?.add(`${o.scope}${o.key}`);
              break;
            case 'remove':
              assert.equal(keys.remove(o.scope, `${o.scope}${o.key}`), scope.delete(`${o.scope}${o.key}`));
              listing.get(o.scope)?.delete(`${o.scope}${o.key}`);
              break;
            case 'begin':
              keys.beginListing(o.scope);
              listing.set(o.scope, new Set());
              break;
            case 'end': {
              const seen = listing.get(o.scope);
              listing.delete(o.scope);
              const gone = seen ? [...scope].filter((k) => !seen.has(k)) : [];
              for (const k of gone) scope.delete(k);
              assert.deepEqual(keys.endListing(o.scope).sort(), gone.sort());
              break;
            }
            case 'drop':
              listing.delete(o.scope);
              assert.deepEqual(keys.drop(o.scope).sort(), [...scope].sort());
              scope.clear();
              break;
          }
          assert.equal(keys.count('a'), model.get('a')!.size);
          assert.equal(keys.count('b'), model.get('b')!.size);
          assert.equal(keys.size, model.get('a')!.size + model.get('b')!.size);
        }
      }),
    );
  });
});
