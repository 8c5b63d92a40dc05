/** `host:port`, `:port` or `[v6]:port` (exporter-toolkit's --web.listen-address form). */
export interface ListenAddress {
  /** undefined: every interface. */
  readonly host: string | undefined;
  readonly port: number;
}

export function parseListenAddress(text: string): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    throw new Error(`invalid listen address "${text}" (expected host:port, :port or [ipv6]:port)`);
  }
  const host = match[1] ?? match[2];
  return { host: host === '' ? undefined : host, port };
}

export function formatListenAddress(address: { address: string; port: number; family: string }): string {
  return address.family === 'IPv6'
    ? `[${address.address}]:${address.port}`
    : `${address.address}:${address.port}`;
}
