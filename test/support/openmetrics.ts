import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import assert from 'node:assert/strict';

/**
 * The OpenMetrics parser of the Python client library (`prometheus_client.openmetrics.parser`,
 * Debian package python3-prometheus-client): a strict parser of the OpenMetrics 1.0 text format
 * (families, types and their sample suffixes, state sets, escaping, `# EOF`).
 */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const SCRIPT = `
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
results = []
for text in json.load(sys.stdin):
    try:
        families = list(text_string_to_metric_families(text))
        results.append({"ok": True, "families": len(families), "samples": sum(len(f.samples) for f in families)})
    except Exception as e:
        results.append({"ok": False, "error": type(e).__name__ + ": " + str(e)[:500]})
json.dump(results, sys.stdout)
`;

export interface OpenMetricsResult {
  readonly ok: boolean;
  readonly error?: string;
  readonly families?: number;
  readonly samples?: number;
}

/** Parses every exposition in one Python process; one result per input, in order. */
export function parseOpenMetrics(expositions: readonly string[]): OpenMetricsResult[] {
  const result = spawnSync(PYTHON, ['-c', SCRIPT], {
    // As on the wire: a lone surrogate becomes U+FFFD when the text is encoded as UTF-8.
    input: JSON.stringify(expositions.map((e) => Buffer.from(e, 'utf8').toString('utf8'))),
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  assert.equal(
    result.status,
    0,
    `the OpenMetrics parser could not run (apt-get install python3-prometheus-client):\n${result.stderr}`,
  );
  return JSON.parse(result.stdout) as OpenMetricsResult[];
}

/** Fails the test unless every exposition parses as OpenMetrics 1.0. */
export function assertOpenMetricsAccepts(expositions: readonly string[]): void {
  const results = parseOpenMetrics(expositions);
  results.forEach((r, i) => {
    assert.ok(
      r.ok,
      `OpenMetrics parser rejected exposition #${i}: ${r.error}\n${expositions[i]!.slice(0, 2000)}`,
    );
  });
}
