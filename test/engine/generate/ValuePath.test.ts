import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidPathError, ValuePath } from '../../../src/engine/generate/ValuePath.ts';

const obj = {
  metadata: { name: 'foo', annotations: { bar: 'baz', 'a=b': 'literal' } },
  spec: {
    order: [
      { v: 1, p: 1 },
      { v: 2, p: 2.5 },
      { v: 3, p: 3 },
    ],
    flags: [{ on: true }, { on: false }],
  },
  status: {
    conditions: [
      { type: 'Progressing', status: 'False' },
      { type: 'Ready', status: 'True' },
      { type: 'Degraded', status: 'Unknown' },
    ],
  },
};

const get = (...segments: string[]) => new ValuePath(segments).get(obj);

describe('ValuePath (KSM path grammar)', () => {
  it('walks map keys; an empty path is the value itself', () => {
    assert.equal(get('metadata', 'name'), 'foo');
    assert.equal(new ValuePath([]).get(obj), obj);
    assert.equal(get('metadata', 'nothere', 'deeper'), undefined);
  });

  it('indexes lists with integers, negative from the end, out of range is nil', () => {
    assert.equal(get('spec', 'order', '0', 'v'), 1);
    assert.equal(get('spec', 'order', '-1', 'v'), 3);
    assert.equal(get('spec', 'order', '-3', 'v'), 1);
    assert.equal(get('spec', 'order', '3'), undefined);
    assert.equal(get('spec', 'order', '-4'), undefined);
    assert.equal(get('spec', 'order', 'v'), undefined);
  });

  it('filters lists with [key=value] (first match)', () => {
    assert.equal(get('status', 'conditions', '[type=Ready]', 'status'), 'True');
    assert.equal(get('status', 'conditions', '[type=Missing]'), undefined);
    assert.equal(get('spec', 'order', '[p=2.5]', 'v'), 2);
    assert.equal(get('spec', 'order', '[p=3]', 'v'), 3);
    assert.deepEqual(get('spec', 'flags', '[on=false]'), { on: false });
    assert.deepEqual(get('spec', 'flags', '[on=True]'), { on: true });
  });

  it('matches [status=Unknown] exactly, unlike KSM', () => {
    assert.deepEqual(get('status', 'conditions', '[status=Unknown]'), {
      type: 'Degraded',
      status: 'Unknown',
    });
  });

  it('returns the value of a key=value segment when it matches, else the literal key', () => {
    assert.equal(get('metadata', 'annotations', 'bar=baz'), 'baz');
    assert.equal(get('metadata', 'annotations', 'bar=nope'), undefined);
    assert.equal(get('metadata', 'annotations', 'a=b'), 'literal');
  });

  it('gives nil for any segment on a scalar', () => {
    assert.equal(get('metadata', 'name', '0'), undefined);
  });

  it('rejects [x] without "=" at compile time, with a hint', () => {
    assert.throws(
      () => new ValuePath(['status', '[Ready]']),
      (err: Error) => {
        assert.ok(err instanceof InvalidPathError);
        assert.match(err.message, /^invalid list lookup: \[Ready\]/);
        return true;
      },
    );
    assert.throws(() => new ValuePath(['[]']), InvalidPathError);
  });

  it('renders like KSM for error messages', () => {
    assert.equal(new ValuePath(['status', 'conditions']).text, '[status,conditions]');
  });

  describe('miss (where explain says a path stops)', () => {
    const miss = (value: unknown, ...segments: string[]) => new ValuePath(segments).miss(value);

    it('is undefined when the path resolves, whatever get returns', () => {
      assert.equal(miss(obj, 'metadata', 'name'), undefined);
      assert.equal(miss(obj, 'status', 'conditions', '[type=Ready]', 'status'), undefined);
      assert.equal(miss(obj), undefined);
      assert.equal(miss({ a: 0 }, 'a'), undefined);
    });

    it('names the first segment that finds nothing and the value it was applied to', () => {
      assert.deepEqual(miss(obj, 'status', 'phase', 'x'), {
        index: 1,
        segment: 'phase',
        parent: obj.status,
        nil: false,
      });
      assert.deepEqual(miss(obj, 'status', 'conditions', '[type=Stalled]', 'status'), {
        index: 2,
        segment: '[type=Stalled]',
        parent: obj.status.conditions,
        nil: false,
      });
      assert.deepEqual(miss(obj, 'metadata', 'name', 'deeper'), {
        index: 2,
        segment: 'deeper',
        parent: 'foo',
        nil: false,
      });
    });

    it('tells a key holding null from a missing key, and a nil value from a path', () => {
      assert.deepEqual(miss({ status: { phase: null } }, 'status', 'phase'), {
        index: 1,
        segment: 'phase',
        parent: { phase: null },
        nil: true,
      });
      assert.deepEqual(miss(null, 'status'), { index: -1, segment: '', parent: undefined, nil: true });
      assert.equal(new ValuePath(['status', 'phase']).get({ status: { phase: null } }), undefined);
    });
  });
});
