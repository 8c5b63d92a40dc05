const VALID_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * KSM's SanitizeLabelName (every rune outside [a-zA-Z0-9_] becomes `_`), plus a `_` prefix for a
 * leading digit, which KSM leaves in place and which makes the whole scrape invalid.
 */
export function sanitizeLabelName(name: string): string {
  if (VALID_LABEL_NAME.test(name)) return name;
  const replaced = name.replace(/[^a-zA-Z0-9_]/gu, '_');
  return /^[0-9]/.test(replaced) ? `_${replaced}` : replaced;
}
