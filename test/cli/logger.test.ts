import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { logfmtStream, toLogfmt } from '../../src/cli/logger.ts';

describe('logfmt logs', () => {
  it('puts time, level and msg first and quotes only what needs it', () => {
    assert.equal(
      toLogfmt({ level: 'info', msg: 'source synced', time: 't1', objects: 3, source: 'files:/x', ok: true }),
      'time=t1 level=info msg="source synced" objects=3 source=files:/x ok=true',
    );
    assert.equal(
      toLogfmt({ msg: '', a: 'x=y', b: 'say "hi"', c: null }),
      'msg="" a="x=y" b="say \\"hi\\"" c=null',
    );
  });

  it('keeps a record with an error and a stack trace on one line', () => {
    const line = toLogfmt({
      level: 'error',
      msg: 'failed to start',
      err: {
        type: 'Error',
        message: 'listen EADDRINUSE',
        stack: 'Error: listen EADDRINUSE\n    at Server.listen',
      },
      problems: ['a', 'b c'],
    });
    assert.ok(!line.includes('\n'));
    assert.equal(
      line,
      'level=error msg="failed to start" err.type=Error err.message="listen EADDRINUSE" ' +
        'err.stack="Error: listen EADDRINUSE\\n    at Server.listen" problems="[\\"a\\",\\"b c\\"]"',
    );
  });

  it('re-encodes what pino writes', () => {
    const lines: string[] = [];
    const logger = pino(
      { base: { service: 's' }, timestamp: false },
      logfmtStream({ write: (t) => lines.push(t) }),
    );
    logger.warn({ target: 'ns/a' }, 'slow down');
    assert.deepEqual(lines, ['level=40 msg="slow down" service=s target=ns/a\n']);
  });
});
