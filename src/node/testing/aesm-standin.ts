/**
 * A stand-in for Intel's aesmd: a real unix socket that accepts connections
 * (all the agent's liveness check needs). Real aesmd cannot run without SGX
 * hardware, so this is the part that is simulated.
 */
import { createServer, type Server } from 'node:net';
import { rmSync } from 'node:fs';
import { aesmSocketPath } from '../aesm.js';

export interface AesmStandin {
  socketPath: string;
  /** Stops listening and removes the socket file (as a dying aesmd would leave no listener). */
  close(): Promise<void>;
}

export async function startAesmStandin(socketDir: string): Promise<AesmStandin> {
  const socketPath = aesmSocketPath(socketDir);
  rmSync(socketPath, { force: true });
  const server: Server = createServer((conn) => {
    conn.on('error', () => undefined);
    conn.end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return {
    socketPath,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  };
}
