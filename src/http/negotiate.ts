import type { ExpositionFormat } from '../exposition/ExpositionFormat.ts';

interface MediaRange {
  readonly type: string;
  readonly params: ReadonlyMap<string, string>;
  readonly q: number;
  readonly order: number;
}

function parseAccept(header: string): MediaRange[] {
  const out: MediaRange[] = [];
  header.split(',').forEach((part, order) => {
    const [type, ...rawParams] = part.split(';').map((s) => s.trim());
    if (!type) return;
    const params = new Map<string, string>();
    let q = 1;
    for (const p of rawParams) {
      const eq = p.indexOf('=');
      if (eq < 0) continue;
      const key = p.slice(0, eq).trim().toLowerCase();
      const value = p
        .slice(eq + 1)
        .trim()
        .replace(/^"|"$/g, '');
      if (key === 'q') {
        const parsed = Number(value);
        q = Number.isFinite(parsed) && parsed >= 0 && parsed <= 1 ? parsed : 0;
      } else params.set(key, value);
    }
    out.push({ type: type.toLowerCase(), params, q, order });
  });
  return out;
}

/** What a media range asks for, if it is a format we serve. */
function formatOf(range: MediaRange): ExpositionFormat | undefined {
  const version = range.params.get('version');
  switch (range.type) {
    case 'application/openmetrics-text':
      // 0.0.1 is the draft Prometheus still offers; 1.0.0 output is a superset it parses.
      return version === undefined || version === '1.0.0' || version === '0.0.1' ? 'openmetrics' : undefined;
    case 'text/plain':
      return version === undefined || version === '0.0.4' ? 'text' : undefined;
    case '*/*':
    case 'text/*':
      return 'text';
    default:
      return undefined;
  }
}

/**
 * Content negotiation per the Prometheus and OpenTelemetry rules: the supported format with the
 * highest weight wins (earlier entries break ties); text 0.0.4 when nothing matches or no Accept
 * header was sent. Unknown or malformed entries are ignored, never an error.
 */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  if (!accept) return 'text';
  let best: { format: ExpositionFormat; q: number; order: number } | undefined;
  for (const range of parseAccept(accept)) {
    if (range.q <= 0) continue;
    const format = formatOf(range);
    if (!format) continue;
    if (!best || range.q > best.q || (range.q === best.q && range.order < best.order))
      best = { format, q: range.q, order: range.order };
  }
  return best?.format ?? 'text';
}

/** Whether the client accepts a gzip body (`Accept-Encoding`, honouring q=0). */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (!acceptEncoding) return false;
  return acceptEncoding.split(',').some((part) => {
    const [coding, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    if (coding !== 'gzip' && coding !== '*') return false;
    const q = params.find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}
