import type { Command } from 'commander';

type Register = (program: Command) => void;

/**
 * One component's top-level commands: their one-line summaries (what
 * `kubetee --help` lists) and how to load the module that declares them.
 */
interface CommandGroup {
  summaries: Readonly<Record<string, string>>;
  load(): Promise<Register>;
}

/**
 * Every top-level command, in the order `kubetee --help` lists them. Each
 * component owns a `register*` function that declares its command and flags
 * and calls into its library. Only the group of the command being run is
 * imported: `kubetee --help` and `kubetee --version` load none, so start-up
 * does not pay for the Kubernetes client, fastify or SQLite. The summaries
 * repeat each command's own description; a test keeps them equal.
 */
export const COMMAND_GROUPS: readonly CommandGroup[] = [
  {
    summaries: { up: 'run the whole control plane on this machine (development defaults, simulated SGX)' },
    load: async () => (await import('./up.js')).registerUp,
  },
  {
    summaries: {
      node: 'inspect SGX on this node (detection of CPU features, EPC, driver and AESM)',
      'node-agent': 'run the SGX node agent: detection, EPC device plugin, node labels, EPC accounting, metrics',
    },
    load: async () => (await import('../node/cli.js')).registerNode,
  },
  {
    summaries: { attest: 'verify and inspect Intel DCAP quotes (SGX and TDX) and fetch their collateral' },
    load: async () => {
      const { registerAttest } = await import('../attestation/cli.js');
      return (program) => registerAttest(program);
    },
  },
  {
    summaries: {
      render: 'print every manifest kubetee installs as one YAML stream (validated offline)',
      install: 'install or upgrade kubetee in a cluster (server-side apply) and wait for the rollout',
      uninstall: 'remove everything kubetee installed (broker data only with --delete-broker-secrets)',
      doctor: 'check a cluster per node and component; exits non-zero when confidential workloads are blocked',
    },
    load: async () => (await import('../deploy/cli.js')).registerDeploy,
  },
  {
    summaries: {
      webhook: 'the admission webhook: trust levels per namespace, SGX wiring, sandboxes',
      policy: 'check trust policy documents and explain admission decisions',
    },
    load: async () => (await import('./webhook.js')).registerWebhookCommands,
  },
  {
    summaries: {
      secret: "manage the key broker's secrets and keys (versions, rotation, expiry, destroy)",
      kbs: 'the attestation-gated key broker (serve, policies, tokens, audit)',
    },
    load: async () => (await import('../kbs/admin/cli.js')).registerKbsStoreCommands,
  },
  {
    summaries: { sim: 'a simulated SGX platform: quotes, collateral and a PCS for development and tests (never trusted by default)' },
    load: async () => (await import('../sim/cli.js')).registerSim,
  },
  {
    summaries: {
      kbs: 'the attestation-gated key broker (serve, policies, tokens, audit)',
      seal: 'encrypt a file (model, data set) with a fresh key held by the key broker',
      unseal: 'decrypt a sealed file, fetching its key from the broker through attestation',
    },
    load: async () => (await import('./key-broker.js')).registerKeyBrokerCommands,
  },
  {
    summaries: { demo: 'run an end-to-end scenario against the local stack (kubetee up)' },
    load: async () => (await import('../demo/cli.js')).registerDemo,
  },
  {
    summaries: {
      launch: 'in-enclave entrypoint: attest, fetch the secrets the launch spec lists, place them inside the enclave, then run the application',
      gramine: 'Gramine SGX manifests for enclaves that start under kubetee launch',
    },
    load: async () => {
      const { registerLaunch, registerGramine } = await import('../launcher/cli.js');
      return (program) => {
        registerLaunch(program);
        registerGramine(program);
      };
    },
  },
];

/** Every top-level command name, in help order. */
export function topLevelNames(): string[] {
  return [...new Set(COMMAND_GROUPS.flatMap((g) => Object.keys(g.summaries)))];
}

/**
 * Declares the top-level commands. `wanted` names the command about to run:
 * only its group(s) are imported and declared in full; the others get a
 * summary-only placeholder so help and "did you mean" still know them.
 * `wanted: 'all'` declares everything (tests walk the whole tree); a name no
 * group has ('none', a typo) declares placeholders only.
 */
export async function registerCommands(program: Command, wanted: string): Promise<void> {
  const declared = new Set<string>();
  for (const group of COMMAND_GROUPS) {
    const names = Object.keys(group.summaries);
    if (wanted === 'all' || names.includes(wanted)) {
      (await group.load())(program);
      for (const c of program.commands) declared.add(c.name());
      continue;
    }
    for (const name of names) {
      // A group sharing this name (kbs) may already have declared it; a later one adds its subcommands to the same command.
      if (declared.has(name)) continue;
      program.command(name).description(group.summaries[name]!);
      declared.add(name);
    }
  }
}
