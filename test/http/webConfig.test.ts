import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import bcrypt from 'bcryptjs';
import { pino } from 'pino';
import { ConfigError } from '../../src/config/ConfigError.ts';
import { BasicAuthenticator, parseBasicAuth } from '../../src/http/basicAuth.ts';
import { BcryptPool } from '../../src/http/BcryptPool.ts';
import { parseWebConfig } from '../../src/http/webConfig.ts';
import { certificateSans, WebConfigLoader } from '../../src/http/WebConfigLoader.ts';

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

/** A pool that runs the real bcrypt workers and records every hash it is asked to compare with. */
class RecordingPool extends BcryptPool {
  readonly hashes: string[] = [];
  override compare(password: string, hash: string): Promise<boolean> {
    this.hashes.push(hash);
    return super.compare(password, hash);
  }
}

const header = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('BasicAuthenticator', () => {
  const pools: BcryptPool[] = [];
  const pool = (): RecordingPool => {
    const p = new RecordingPool({ size: 1 });
    pools.push(p);
    return p;
  };
  after(async () => {
    for (const p of pools) await p.close();
  });

  it('accepts the right password, rejects a wrong one, an unknown user and malformed headers', async () => {
    const auth = new BasicAuthenticator(new Map([['alice', HASH]]), { pool: pool() });
    assert.equal(await auth.check(header('alice', 'pw')), 'allowed');
    assert.equal(await auth.check(header('alice', 'pw')), 'allowed'); // cached
    assert.equal(await auth.check(header('alice', 'PW')), 'denied');
    assert.equal(await auth.check(header('mallory', 'pw')), 'denied');
    assert.equal(await auth.check(undefined), 'denied');
    assert.equal(await auth.check('Bearer abc'), 'denied');
    assert.equal(await auth.check('Basic !!!'), 'denied');
  });

  it('parses credentials as Go does (password may hold colons; scheme case-insensitive)', () => {
    assert.deepEqual(parseBasicAuth(`basic ${Buffer.from('u:a:b').toString('base64')}`), {
      user: 'u',
      password: 'a:b',
    });
    assert.equal(parseBasicAuth(`Basic ${Buffer.from('nocolon').toString('base64')}`), undefined);
  });

  it('caches successes only: wrong passwords cannot push a working password out of the cache', async () => {
    const recording = pool();
    const auth = new BasicAuthenticator(new Map([['alice', HASH]]), { cacheSize: 2, pool: recording });
    assert.equal(await auth.check(header('alice', 'pw')), 'allowed');
    for (let i = 0; i < 10; i++) assert.equal(await auth.check(header('alice', `wrong${i}`)), 'denied');
    const compared = recording.hashes.length;
    assert.equal(await auth.check(header('alice', 'pw')), 'allowed');
    assert.equal(recording.hashes.length, compared, 'answered from the cache, no bcrypt');
    // Wrong passwords are never cached: each one is compared again.
    assert.equal(await auth.check(header('alice', 'wrong0')), 'denied');
    assert.equal(recording.hashes.length, compared + 1);
  });

  it('compares an unknown user against a decoy with the cost of a configured user (no timing oracle)', async () => {
    const recording = pool();
    // Two distinct costs, cheap enough to compare 32 times (the check is the same at any cost).
    const costHigh = `$2b$08$${'a'.repeat(53)}`;
    const costLow = `$2y$04$${'b'.repeat(53)}`;
    const auth = new BasicAuthenticator(
      new Map([
        ['alice', costHigh],
        ['bob', costLow],
      ]),
      { pool: recording },
    );
    const prefixes = new Set<string>();
    for (let i = 0; i < 16; i++) {
      recording.hashes.length = 0;
      assert.equal(await auth.check(header(`nobody${i}`, 'pw')), 'denied');
      const [hash] = recording.hashes;
      assert.match(hash!, /^\$2[by]\$(08|04)\$[./A-Za-z0-9]{53}$/);
      assert.notEqual(hash, costHigh);
      assert.notEqual(hash, costLow);
      prefixes.add(hash!.slice(0, 7));
      // The same unknown name always gets the same cost.
      recording.hashes.length = 0;
      await auth.check(header(`nobody${i}`, 'other'));
      assert.equal(recording.hashes[0]!.slice(0, 7), hash!.slice(0, 7));
    }
    assert.deepEqual([...prefixes].sort(), ['$2b$08$', '$2y$04$'], 'unknown names spread over both costs');
  });

  it('bounds pending comparisons, overall and per client: more are busy at once', async () => {
    const slow = bcrypt.hashSync('pw', 10);
    const auth = new BasicAuthenticator(new Map([['alice', slow]]), {
      pool: pool(),
      maxPending: 3,
      maxPendingPerClient: 2,
    });
    const fromA = [0, 1, 2].map((i) => auth.check(header('alice', `a${i}`), '10.0.0.1'));
    const fromB = [0, 1].map((i) => auth.check(header('alice', `b${i}`), '10.0.0.2'));
    // The same credentials again join the comparison in flight (no slot taken).
    const again = auth.check(header('alice', 'a0'), '10.0.0.1');
    assert.deepEqual(await Promise.all([...fromA, ...fromB, again]), [
      'denied',
      'denied',
      'busy',
      'denied',
      'busy',
      'denied',
    ]);
  });

  it('runs bcrypt on a worker thread: the event loop stays free during a comparison', async () => {
    const costly = bcrypt.hashSync('pw', 12);
    const auth = new BasicAuthenticator(new Map([['alice', costly]]), { pool: pool() });
    await auth.check(header('alice', 'warm-up')); // starts the worker
    const before = performance.eventLoopUtilization();
    assert.equal(await auth.check(header('alice', 'wrong')), 'denied');
    const during = performance.eventLoopUtilization(before);
    // On the event loop, a cost-12 comparison keeps it busy nearly the whole time.
    assert.ok(during.utilization < 0.5, `event loop utilization ${during.utilization.toFixed(2)}`);
  });
});

describe('BcryptPool', () => {
  it(
    'runs its workers below normal priority on Linux, the event loop at normal',
    { skip: process.platform !== 'linux' || getPriority() !== 0 },
    async () => {
      // /proc/self/task/<tid>/stat: field 19 is the nice value (after the parenthesised name).
      const niceValues = () =>
        readdirSync('/proc/self/task').map((tid) =>
          Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]),
        );
      assert.ok(!niceValues().includes(10));
      const pool = new BcryptPool({ size: 1 });
      try {
        assert.equal(await pool.compare('pw', HASH), true);
        assert.ok(niceValues().includes(10), `nice values ${niceValues().join(',')}`);
        assert.equal(getPriority(), 0, 'the main thread keeps its priority');
      } finally {
        await pool.close();
      }
    },
  );
});

describe('BcryptPool: a worker that dies', () => {
  it('fails the check it held (503 for the guard) and is replaced for the next one', async () => {
    const errors: string[] = [];
    const pool = new BcryptPool({ size: 1, onWorkerError: (err) => errors.push(err.message) });
    const auth = new BasicAuthenticator(new Map([['alice', bcrypt.hashSync('pw', 12)]]), { pool });
    try {
      const held = auth.check(header('alice', 'wrong'));
      await delay(100); // the worker has it
      const [slot] = (pool as unknown as { _slots: { worker: { terminate(): Promise<number> } }[] })._slots;
      await slot!.worker.terminate();
      assert.equal(await held, 'unavailable');
      assert.match(errors.join('\n'), /bcrypt worker exited/);
      assert.equal(await auth.check(header('alice', 'pw')), 'allowed');
    } finally {
      await pool.close();
    }
  });
});

describe('WebConfigLoader', () => {
  it('reads IP SANs of client certificates the way Go prints them (IPv6 compressed, lower case)', () => {
    assert.deepEqual(
      certificateSans(
        'IP Address:2001:DB8:0:0:0:0:0:1, IP Address:127.0.0.1, DNS:a.example, URI:spiffe://x/y, email:a@b.c',
      ),
      ['2001:db8::1', '127.0.0.1', 'a.example', 'spiffe://x/y', 'a@b.c'],
    );
    assert.deepEqual(certificateSans(''), []);
  });

  it('names every problem of a broken file in one line', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'web-config-problems-'));
    const file = path.join(dir, 'web.yml');
    try {
      writeFileSync(file, 'http_server_config:\n  headerz: {}\nbasic_auth_userz: {}\n');
      assert.throws(
        () => WebConfigLoader.load(file, pino({ level: 'silent' })),
        (err: Error) =>
          !err.message.includes('\n') &&
          err.message.split('; ').length === 2 &&
          /web\.yml:2:3: http_server_config\.headerz: unknown field/.test(err.message) &&
          /web\.yml:3:1: basic_auth_userz: unknown field/.test(err.message),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a broken web config in reloadStatus until a good one loads', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'web-config-status-'));
    const file = path.join(dir, 'web.yml');
    const logged: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void logged.push(line) });
    try {
      writeFileSync(file, 'http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n');
      const web = WebConfigLoader.load(file, logger);
      const loadedAt = web.reloadStatus.successAt;
      assert.deepEqual({ ...web.reloadStatus, successAt: 0 }, { file, ok: true, successAt: 0 });
      writeFileSync(file, 'http_server_config:\n  headerz: {}\n');
      web.refresh();
      assert.equal(web.reloadStatus.ok, false);
      assert.equal(web.reloadStatus.successAt, loadedAt);
      assert.match(logged.join(''), /web config not reloaded; keeping the running one: .*headerz/);
      // The running one still serves.
      assert.equal(web.config.headers['X-Content-Type-Options'], 'nosniff');
      await delay(20);
      writeFileSync(file, 'http_server_config:\n  headers:\n    X-Frame-Options: deny\n');
      web.refresh();
      assert.equal(web.reloadStatus.ok, true);
      assert.ok(web.reloadStatus.successAt > loadedAt);
      assert.equal(web.config.headers['X-Frame-Options'], 'deny');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
