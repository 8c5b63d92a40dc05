import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { labelNameFromData, sanitizeLabelName } from '../../src/exposition/labelNames.ts';
import { targetInfoFamily } from '../../src/exposition/targetInfo.ts';

describe('label names', () => {
  it('sanitizeLabelName: KSM’s rule, plus a prefix for a leading digit', () => {
    assert.equal(sanitizeLabelName('app.kubernetes.io/name'), 'app_kubernetes_io_name');
    assert.equal(sanitizeLabelName('9lives'), '_9lives');
    assert.equal(sanitizeLabelName('ünï'), '_n_');
    // One code point, one underscore, also beyond the BMP and for a lone surrogate.
    assert.equal(sanitizeLabelName('a\u{1F600}b\ud800'), 'a_b_');
  });

  it('labelNameFromData: drops what sanitizes to an empty or reserved name, keeps the rest', () => {
    for (const dropped of ['', '__name__', '__x', '__', '_.', '..', 'éé', '\u{1F600}\u{1F600}x', '\ud800_'])
      assert.equal(labelNameFromData(dropped), undefined, JSON.stringify(dropped));
    const kept: [string, string][] = [
      ['_', '_'],
      ['_a', '_a'],
      ['.', '_'],
      ['é', '_'],
      ['a__b', 'a__b'],
      ['9', '_9'],
      ['le', 'le'],
      ['tag___name__', 'tag___name__'],
      ['x.y', 'x_y'],
    ];
    for (const [key, name] of kept) assert.equal(labelNameFromData(key), name, JSON.stringify(key));
  });

  it('target_info follows the same rule for its attribute keys', () => {
    const family = targetInfoFamily({ '': 'a', __name__: 'b', 'service.name': 'c', é: 'd' }, 'text');
    assert.match(family, /^target_info\{service_name="c",_="d"\} 1$/m);
  });
});
