import { createServer } from 'node:net';

// Ports handed out by this process: the kernel may return a port we just
// released for the next listen(0) before the peer has bound it.
const handedOut = new Set<number>();

/**
 * A TCP port on 127.0.0.1 that is free right now. The peer binds it a moment
 * later, so a collision with another process is possible but rare; peers that
 * fail to bind show that in their log.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.unref();
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
        const address = server.address();
        server.close(() => {
          if (address && typeof address === 'object') resolve(address.port);
          else reject(new Error('could not read the port of a listening socket'));
        });
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('freePort: no unused port found after 20 attempts');
}
