import type { Command } from 'commander';
import { resolve } from 'node:path';
import { createLogger } from '../common/log.js';
import { parsePort } from './options.js';
import { waitForShutdownSignal } from '../common/signals.js';

interface UpOptions {
  host: string;
  port: number;
  dataDir: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

export function registerUp(program: Command): void {
  program
    .command('up')
    .description('run the whole control plane on this machine (development defaults, simulated SGX)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', parsePort, 8750)
    .option('--data-dir <dir>', 'where state is kept between runs', './.kubetee')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent', 'info')
    .action(async (opts: UpOptions) => {
      const logger = createLogger({ level: opts.logLevel, name: 'kubetee-up' });
      const { startLocalStack } = await import('../up/local-stack.js');
      const plane = await startLocalStack({
        host: opts.host,
        port: opts.port,
        dataDir: resolve(opts.dataDir),
        logger,
      });
      process.stdout.write(plane.banner());
      await waitForShutdownSignal();
      process.stdout.write('kubetee: stopping...\n');
      await plane.close();
      process.stdout.write('kubetee: stopped cleanly\n');
    });
}
