import type { Command } from 'commander';
import { registerUp } from './up.js';
import { registerNode } from '../node/cli.js';
import { registerAttest } from '../attestation/cli.js';
import { registerDeploy } from '../deploy/cli.js';
import { registerWebhookCommands } from './webhook.js';
import { registerKbsStoreCommands } from '../kbs/admin/cli.js';
import { registerSim } from '../sim/cli.js';
import { registerKeyBrokerCommands } from './key-broker.js';
import { registerDemo } from '../demo/cli.js';
import { registerGramine, registerLaunch } from '../launcher/cli.js';

/**
 * Every top-level command, in the order `kubetee --help` lists them. Each
 * component owns a `register*` function that declares its command and flags
 * and calls into its library; add one line here per component.
 */
export function registerCommands(program: Command): void {
  registerUp(program);
  registerNode(program);
  registerAttest(program);
  registerDeploy(program);
  registerWebhookCommands(program);
  registerKbsStoreCommands(program);
  registerSim(program);
  registerKeyBrokerCommands(program);
  registerDemo(program);
  registerLaunch(program);
  registerGramine(program);
}
