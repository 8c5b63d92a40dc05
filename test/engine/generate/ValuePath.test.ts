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
});
