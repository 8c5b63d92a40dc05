/** Label values, both formats: `\` `"` and line feed escaped. */
export function escapeLabelValue(value: string): string {
  if (!/[\\"\n]/.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP in Prometheus text 0.0.4: only `\` and line feed are escaped. */
export function escapeHelpText(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** HELP in OpenMetrics 1.0: an escaped-string, so `"` is escaped too. */
export function escapeHelpOpenMetrics(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}
