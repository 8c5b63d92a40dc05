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

/**
 * The one rule for label names that come from data rather than from the config (the keys of a map
 * copied by a star key, the attributes of `target_info`): sanitized as sanitizeLabelName does; a
 * result that is empty or starts with `__` (reserved for Prometheus' own labels, `__name__` among
 * them) gives undefined, and the caller drops that label. Such a name in one object would
 * otherwise make the whole scrape invalid (`{="x"}`, a second `__name__`), every other object's
 * series with it.
 */
export function labelNameFromData(key: string): string | undefined {
  const name = sanitizeLabelName(key);
  return name === '' || name.startsWith('__') ? undefined : name;
}
