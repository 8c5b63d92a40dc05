import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { acceptsGzip, negotiateFormat } from '../../src/http/negotiate.ts';
import { parseListenAddress } from '../../src/http/listenAddress.ts';

describe('content negotiation', () => {
  const cases: [string | undefined, 'text' | 'openmetrics'][] = [
    [undefined, 'text'],
    ['', 'text'],
    ['*/*', 'text'],
    ['text/plain', 'text'],
    ['text/plain;version=0.0.4', 'text'],
    ['application/openmetrics-text', 'openmetrics'],
    ['application/openmetrics-text; version=1.0.0; charset=utf-8', 'openmetrics'],
    // Prometheus 3's default Accept header.
    [
      'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1',
      'openmetrics',
    ],
    // Prometheus 2's default.
    [
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
      'openmetrics',
    ],
    ['text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.5', 'text'],
    ['application/openmetrics-text;q=0,text/plain', 'text'],
    ['application/openmetrics-text;version=2.0.0', 'text'],
    ['application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited', 'text'],
    ['garbage;;;q=x,,', 'text'],
  ];
  for (const [accept, expected] of cases) {
    it(`${accept ?? '(no header)'} -> ${expected}`, () => assert.equal(negotiateFormat(accept), expected));
  }

  it('honours Accept-Encoding, including q=0', () => {
    assert.equal(acceptsGzip('gzip, deflate, br'), true);
    assert.equal(acceptsGzip('deflate'), false);
    assert.equal(acceptsGzip('gzip;q=0'), false);
    assert.equal(acceptsGzip('*'), true);
    assert.equal(acceptsGzip(undefined), false);
  });

  it('parses listen addresses like exporter-toolkit', () => {
    assert.deepEqual(parseListenAddress(':8080'), { host: undefined, port: 8080 });
    assert.deepEqual(parseListenAddress('127.0.0.1:9'), { host: '127.0.0.1', port: 9 });
    assert.deepEqual(parseListenAddress('[::1]:8081'), { host: '::1', port: 8081 });
    assert.throws(() => parseListenAddress('8080'), /invalid listen address/);
    assert.throws(() => parseListenAddress(':99999'), /invalid listen address/);
  });
});
