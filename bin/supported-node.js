// The Node.js versions crd-metrics-bridge runs on, in one place: the launcher (crd-metrics-bridge.js)
// stops on any other, scripts/check-node.js (the npm scripts of a checkout) applies the same rule,
// and the published package.json's `engines` is SUPPORTED_NODE_RANGE (scripts/pack-manifest.js).
// Plain JavaScript any Node parses, so an old Node prints the message instead of a syntax error.

/** The `engines.node` range of the published package. */
export const SUPPORTED_NODE_RANGE = '^22.19.0 || >=24.0.0';

/** SUPPORTED_NODE_RANGE in words. */
export const SUPPORTED_NODE_TEXT = 'Node.js 24 or later, or 22.19 or a later 22.x';

/** Whether `version` (as process.version prints it) satisfies SUPPORTED_NODE_RANGE. */
export function isSupportedNode(version) {
  const [major, minor] = version.replace(/^v/, '').split('.').map(Number);
  return major >= 24 || (major === 22 && minor >= 19);
}
