// The monitoring mixin: the rule file is valid, every alert is tested by promtool both firing and
// not firing, and the chart ships exactly mixin/'s files. (That every metric name exists is checked
// against a running bridge in test/integration/mixin-metrics.test.ts.)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse, stringify } from 'yaml';
import { findBinary, repoRoot } from '../harness/binaries.ts';
import { metricNamesIn } from '../support/promqlNames.ts';

const mixin = path.join(repoRoot, 'mixin');
const testsDir = path.join(mixin, 'tests');
const testFiles = readdirSync(testsDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface RuleTestFile {
  rule_files: string[];
  tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
}

function alertRules(): AlertRule[] {
  const file = parse(readFileSync(path.join(mixin, 'alerts.yaml'), 'utf8')) as {
    groups: { rules: AlertRule[] }[];
  };
  return file.groups.flatMap((g) => g.rules);
}

const RUNBOOK = 'https://github.com/crd-metrics-bridge/crd-metrics-bridge/blob/main/mixin/runbook.md';

function promtool(args: string[], cwd = testsDir): { code: number; output: string } {
  const r = spawnSync(findBinary('promtool'), args, { cwd, encoding: 'utf8' });
  return { code: r.status ?? 128, output: `${r.stdout}${r.stderr}` };
}

describe('monitoring mixin', () => {
  it('promtool check rules accepts mixin/alerts.yaml', () => {
    const r = promtool(['check', 'rules', path.join(mixin, 'alerts.yaml')]);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, new RegExp(`SUCCESS: ${alertRules().length} rules found`));
  });

  it('the health alerts read only the health families', () => {
    const health = alertRules().filter((r) => r.alert.startsWith('CustomResource'));
    assert.deepEqual(
      health.map((r) => r.alert),
      ['CustomResourceDegraded', 'CustomResourceStuckProgressing', 'CustomResourceFlapping'],
    );
    for (const rule of health)
      for (const name of metricNamesIn(rule.expr))
        assert.match(
          name,
          /^kube_customresource_health(_last_transition_timestamp_seconds|_transitions_total)?$/,
        );
  });

  it('every alert has a severity, a summary, a description and a runbook_url to its section of runbook.md', () => {
    // GitHub's anchor of a `## Name` heading is the name in lower case.
    const sections = [...readFileSync(path.join(mixin, 'runbook.md'), 'utf8').matchAll(/^## (\S+)$/gm)].map(
      (m) => m[1]!,
    );
    assert.deepEqual(
      sections,
      alertRules().map((r) => r.alert),
      'runbook.md has one section per alert, in the order of alerts.yaml',
    );
    const names = new Set<string>();
    for (const rule of alertRules()) {
      // The bridge's own alerts, and those on the custom resources' health (health: {}).
      assert.match(rule.alert, /^(CrdMetricsBridge|CustomResource)[A-Z]\w+$/);
      assert.ok(!names.has(rule.alert), `${rule.alert} defined twice`);
      names.add(rule.alert);
      assert.ok(['critical', 'warning', 'info'].includes(rule.labels?.['severity'] ?? ''), rule.alert);
      assert.ok(rule.annotations?.['summary'], `${rule.alert} has no summary`);
      assert.ok(rule.annotations?.['description'], `${rule.alert} has no description`);
      assert.equal(rule.annotations?.['runbook_url'], `${RUNBOOK}#${rule.alert.toLowerCase()}`, rule.alert);
      assert.ok(metricNamesIn(rule.expr).length > 0, `${rule.alert}: no metric found in ${rule.expr}`);
    }
  });

  it('every alert is tested both firing and not firing', () => {
    const firing = new Set<string>();
    const quiet = new Set<string>();
    for (const file of testFiles) {
      const doc = parse(readFileSync(path.join(testsDir, file), 'utf8')) as RuleTestFile;
      assert.deepEqual(doc.rule_files, ['../alerts.yaml'], file);
      for (const test of doc.tests)
        for (const check of test.alert_rule_test ?? [])
          ((check.exp_alerts ?? []).length > 0 ? firing : quiet).add(check.alertname);
    }
    for (const { alert } of alertRules()) {
      assert.ok(firing.has(alert), `no test in mixin/tests expects ${alert} to fire`);
      assert.ok(quiet.has(alert), `no test in mixin/tests expects ${alert} to stay quiet`);
    }
  });

  for (const file of testFiles) {
    it(`promtool test rules mixin/tests/${file}`, () => {
      const r = promtool(['test', 'rules', file]);
      assert.equal(r.code, 0, r.output);
      assert.match(r.output, /SUCCESS/);
    });
  }

  it('each test file fails once any one of its firing expectations is removed (the tests can fail)', () => {
    const work = mkdtempSync(path.join(tmpdir(), 'mixin-mutants-'));
    try {
      writeFileSync(path.join(work, 'alerts.yaml'), readFileSync(path.join(mixin, 'alerts.yaml')));
      for (const file of testFiles) {
        const firingCount = (parse(readFileSync(path.join(testsDir, file), 'utf8')) as RuleTestFile).tests
          .flatMap((t) => t.alert_rule_test ?? [])
          .filter((c) => (c.exp_alerts ?? []).length > 0).length;
        assert.ok(firingCount > 0, `${file} expects no alert to fire`);
        for (let n = 0; n < firingCount; n++) {
          const doc = parse(readFileSync(path.join(testsDir, file), 'utf8')) as RuleTestFile;
          const check = doc.tests
            .flatMap((t) => t.alert_rule_test ?? [])
            .filter((c) => (c.exp_alerts ?? []).length > 0)[n]!;
          check.exp_alerts = [];
          doc.rule_files = ['alerts.yaml'];
          writeFileSync(path.join(work, file), stringify(doc));
          const r = promtool(['test', 'rules', file], work);
          assert.notEqual(
            r.code,
            0,
            `${file} still passes without its ${check.alertname} expectation:\n${r.output}`,
          );
          assert.match(r.output, new RegExp(`alertname: ${check.alertname}`));
        }
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('the job selector is one substitution: the substituted rules select the new job only', () => {
    const text = readFileSync(path.join(mixin, 'alerts.yaml'), 'utf8');
    // Every `job` matcher in the rules is the default selector (the README's sed relies on it).
    const exprs = alertRules()
      .map((r) => r.expr)
      .join('\n');
    assert.deepEqual(
      [...new Set(exprs.match(/\bjob\s*(=~|!=|!~|=)\s*"[^"]*"/g))],
      ['job="crd-metrics-bridge"'],
    );
    const work = mkdtempSync(path.join(tmpdir(), 'mixin-selector-'));
    try {
      const selector = 'job="bridge",namespace="tools"';
      // Without annotations, which promtool would otherwise want spelled out: this is about selection.
      const substituted = parse(text.replaceAll('job="crd-metrics-bridge"', selector)) as {
        groups: { rules: AlertRule[] }[];
      };
      for (const rule of substituted.groups.flatMap((g) => g.rules)) delete rule.annotations;
      writeFileSync(path.join(work, 'alerts.yaml'), stringify(substituted));
      const scraped = (labels: string) => [
        { series: `up{${labels},instance="a:8080"}`, values: '0x20' },
        { series: `scrape_samples_scraped{${labels},instance="a:8080"}`, values: '2000000x30' },
      ];
      writeFileSync(
        path.join(work, 'selector.yaml'),
        stringify({
          rule_files: ['alerts.yaml'],
          evaluation_interval: '1m',
          tests: [
            {
              interval: '1m',
              input_series: [
                ...scraped('job="bridge",namespace="tools"'),
                ...scraped('job="crd-metrics-bridge",namespace="x"'),
                ...scraped('job="bridge",namespace="other"'),
              ],
              alert_rule_test: [
                {
                  eval_time: '10m',
                  alertname: 'CrdMetricsBridgeDown',
                  exp_alerts: [
                    {
                      exp_labels: {
                        severity: 'critical',
                        job: 'bridge',
                        namespace: 'tools',
                        instance: 'a:8080',
                      },
                    },
                  ],
                },
                {
                  eval_time: '20m',
                  alertname: 'CrdMetricsBridgeScrapeTooLarge',
                  exp_alerts: [
                    {
                      exp_labels: {
                        severity: 'warning',
                        job: 'bridge',
                        namespace: 'tools',
                        instance: 'a:8080',
                      },
                    },
                  ],
                },
              ],
            },
          ],
        }),
      );
      const r = promtool(['test', 'rules', 'selector.yaml'], work);
      assert.equal(r.code, 0, r.output);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('the dashboard is a Grafana dashboard whose every panel queries something', () => {
    const dashboard = JSON.parse(
      readFileSync(path.join(mixin, 'dashboards', 'crd-metrics-bridge.json'), 'utf8'),
    ) as { uid: string; panels: { type: string; title: string; targets?: { expr: string }[] }[] };
    assert.equal(dashboard.uid, 'crd-metrics-bridge');
    const panels = dashboard.panels.filter((p) => p.type !== 'row');
    assert.ok(panels.length >= 10);
    for (const panel of panels) {
      assert.ok((panel.targets ?? []).length > 0, `panel ${panel.title} has no query`);
      for (const target of panel.targets!) assert.ok(metricNamesIn(target.expr).length > 0, target.expr);
    }
  });

  it("the chart's copies of the alerts and dashboards are mixin/'s (scripts/sync-chart-mixin.sh)", () => {
    const chartFiles = path.join(repoRoot, 'charts', 'crd-metrics-bridge', 'files');
    const pairs: [string, string][] = [
      [path.join(mixin, 'alerts.yaml'), path.join(chartFiles, 'alerts.yaml')],
    ];
    const dashboards = readdirSync(path.join(mixin, 'dashboards')).sort();
    assert.deepEqual(readdirSync(path.join(chartFiles, 'dashboards')).sort(), dashboards);
    for (const d of dashboards)
      pairs.push([path.join(mixin, 'dashboards', d), path.join(chartFiles, 'dashboards', d)]);
    for (const [source, copy] of pairs) {
      assert.equal(
        readFileSync(copy, 'utf8'),
        readFileSync(source, 'utf8'),
        `${path.relative(repoRoot, copy)} differs from ${path.relative(repoRoot, source)}: run scripts/sync-chart-mixin.sh`,
      );
    }
  });

  it('metricNamesIn finds the metric names of an expression and nothing else', () => {
    assert.deepEqual(
      metricNamesIn(
        'sum by (job, target) (rate(a_total{result="error",x=~"$job"}[5m])) / on (job) group_left(version) b_info > 1e6 and c offset 5m',
      ),
      ['a_total', 'b_info', 'c'],
    );
    assert.deepEqual(metricNamesIn('topk(20, sum by (family) (series{job=~"$job"}))'), ['series']);
    assert.deepEqual(metricNamesIn('avg_over_time(scrape_duration_seconds{job="x"}[$__rate_interval]) > 5'), [
      'scrape_duration_seconds',
    ]);
  });
});
