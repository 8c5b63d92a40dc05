import type { ExplainSettings } from './explainObject.ts';

export async function explainLive(
  _settings: ExplainSettings,
  _target: string,
  _options: { namespace?: string | undefined; kubeconfig?: string | undefined; context?: string | undefined },
): Promise<{ text: string; error: boolean }> {
  return Promise.resolve({ text: 'not yet\n', error: true });
}
