/** The page at `/`: what this is and where the metrics are (exporter convention). */
export function landingPage(info: {
  version: string;
  metricsPath: string;
  ready: boolean;
  objects: number;
}): string {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>crd-metrics-bridge</title></head>
<body>
<h1>crd-metrics-bridge ${info.version}</h1>
<p>Kubernetes custom resource state as metrics (kube-state-metrics compatible, OpenTelemetry native).</p>
<p>Status: ${info.ready ? 'ready' : 'syncing'}, ${info.objects} objects cached.</p>
<ul>
<li><a href="${info.metricsPath}">${info.metricsPath}</a>: custom resource metrics</li>
<li><a href="/healthz">/healthz</a>, <a href="/livez">/livez</a>, <a href="/readyz">/readyz</a></li>
</ul>
</body>
</html>
`;
}
