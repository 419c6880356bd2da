/** AESM liveness: the socket exists and accepts a connection. */
import { connect } from 'node:net';
import { join } from 'node:path';
import { AESM_SOCKET_NAME } from './host-paths.js';

export function aesmSocketPath(dir: string): string {
  return join(dir, AESM_SOCKET_NAME);
}

/**
 * Resolves true when something accepts connections on the unix socket within
 * `timeoutMs`. A stale socket file left by a dead aesmd refuses (ECONNREFUSED),
 * so file existence alone is not enough.
 */
export function checkAesmSocket(socketPath: string, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ path: socketPath });
    const done = (alive: boolean): void => {
      clearTimeout(timer);
      sock.removeAllListeners();
      sock.on('error', () => undefined);
      sock.destroy();
      resolve(alive);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}
