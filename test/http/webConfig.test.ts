import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import bcrypt from 'bcryptjs';
import { ConfigError } from '../../src/config/ConfigError.ts';
import { BasicAuthenticator, parseBasicAuth } from '../../src/http/basicAuth.ts';
import { parseWebConfig } from '../../src/http/webConfig.ts';

const HASH = bcrypt.hashSync('pw', 4);

function problems(text: string): string[] {
  try {
    parseWebConfig(text, '/etc/bridge/web.yml');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems.map(
      (p) => `${p.location.line}:${p.location.column} ${p.location.keyPath}: ${p.message}`,
    );
  }
  assert.fail('expected the web config to be rejected');
}

describe('parseWebConfig (exporter-toolkit web config)', () => {
  it('reads TLS with exporter-toolkit defaults and resolves paths against the file', () => {
    const c = parseWebConfig(
      'tls_server_config:\n  cert_file: tls.crt\n  key_file: /abs/tls.key\n',
      '/etc/bridge/web.yml',
    );
    assert.equal(c.tls?.certFile, '/etc/bridge/tls.crt');
    assert.equal(c.tls?.keyFile, '/abs/tls.key');
    assert.equal(c.tls?.clientAuth, 'NoClientCert');
    assert.equal(c.tls?.minVersion, 'TLSv1.2');
    assert.equal(c.tls?.maxVersion, 'TLSv1.3');
    assert.equal(c.tls?.ciphers, undefined);
    assert.equal(c.http2, true);
    assert.equal(c.basicAuthUsers.size, 0);
  });

  it('an empty file, or one with only basic auth, means no TLS', () => {
    assert.equal(parseWebConfig('', 'w.yml').tls, undefined);
    const c = parseWebConfig(`basic_auth_users:\n  alice: ${HASH}\n`, 'w.yml');
    assert.equal(c.tls, undefined);
    assert.equal(c.basicAuthUsers.get('alice'), HASH);
  });

  it('maps Go cipher names to OpenSSL, ignores TLS 1.3 suites as Go does, maps curves and versions', () => {
    const c = parseWebConfig(
      [
        'tls_server_config:',
        '  cert_file: a',
        '  key_file: b',
        '  min_version: TLS13',
        '  max_version: TLS13',
        '  cipher_suites: [TLS_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256]',
        '  curve_preferences: [CurveP384, X25519]',
        '  client_auth_type: RequireClientCert',
        '',
      ].join('\n'),
      'w.yml',
    );
    assert.equal(c.tls?.ciphers, 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305');
    assert.equal(c.tls?.ecdhCurve, 'P-384:X25519');
    assert.equal(c.tls?.minVersion, 'TLSv1.3');
    assert.equal(c.tls?.clientAuth, 'RequireAnyClientCert');
  });

  it('rejects unknown keys, values and combinations with file position and key path', () => {
    assert.deepEqual(problems('tls_server_config:\n  cert_file: a\n  key_file: b\n  certfile: c\n'), [
      '4:3 tls_server_config.certfile: unknown field "certfile" (did you mean "cert_file"?)',
    ]);
    assert.deepEqual(problems('tls_server_config:\n  cert_file: a\n'), [
      '2:3 tls_server_config: missing one of key or key_file',
    ]);
    assert.match(
      problems(
        'tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n',
      )[0]!,
      /^4:\d+ tls_server_config\.cipher_suites\[0\]: unknown cipher: TLS_RSA_WITH_RC4_128_SHA$/,
    );
    assert.match(
      problems('tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: ca\n')[0]!,
      /client CA's have been configured without a client_auth_type/,
    );
    assert.match(
      problems('tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Always\n')[0]!,
      /invalid client_auth_type "Always"/,
    );
    assert.match(
      problems(
        'tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n  max_version: TLS12\n',
      )[0]!,
      /min_version is above max_version/,
    );
    assert.match(
      problems('basic_auth_users:\n  bob: plaintext\n')[0]!,
      /basic_auth_users\.bob: expected a bcrypt hash/,
    );
    assert.match(
      problems('http_server_config:\n  headers:\n    X-Frame-Options: allow\n')[0]!,
      /X-Frame-Options.*invalid value "allow" \(expected one of: deny, sameorigin\)/,
    );
    assert.match(
      problems('http_server_config:\n  headers:\n    Server: me\n')[0]!,
      /HTTP header "Server" can not be configured/,
    );
    assert.match(problems('rate_limit:\n  burst: 1\n')[0]!, /rate_limit is not supported/);
    assert.match(problems('tls_server_config: [\n')[0]!, /^\d+:\d+ : YAML: /);
  });
});

describe('BasicAuthenticator', () => {
  it('accepts the right password, rejects a wrong one, an unknown user and malformed headers', async () => {
    const auth = new BasicAuthenticator(new Map([['alice', HASH]]));
    const header = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
    assert.equal(await auth.check(header('alice', 'pw')), true);
    assert.equal(await auth.check(header('alice', 'pw')), true); // cached
    assert.equal(await auth.check(header('alice', 'PW')), false);
    assert.equal(await auth.check(header('mallory', 'pw')), false);
    assert.equal(await auth.check(undefined), false);
    assert.equal(await auth.check('Bearer abc'), false);
    assert.equal(await auth.check('Basic !!!'), false);
  });

  it('parses credentials as Go does (password may hold colons; scheme case-insensitive)', () => {
    assert.deepEqual(parseBasicAuth(`basic ${Buffer.from('u:a:b').toString('base64')}`), {
      user: 'u',
      password: 'a:b',
    });
    assert.equal(parseBasicAuth(`Basic ${Buffer.from('nocolon').toString('base64')}`), undefined);
  });

  it('keeps a bounded number of cached verdicts', async () => {
    const auth = new BasicAuthenticator(new Map([['alice', HASH]]), { cacheSize: 2 });
    const header = (p: string) => `Basic ${Buffer.from(`alice:${p}`).toString('base64')}`;
    for (const p of ['a', 'b', 'c', 'pw']) await auth.check(header(p));
    const cache = (auth as unknown as { _cache: Map<string, unknown> })._cache;
    assert.equal(cache.size, 2);
  });
});
