import { readFile } from 'node:fs/promises';
import { gramineEvidence, simEvidence, type EvidenceProvider } from '../kbs/client/evidence.js';
import { LaunchError } from './errors.js';
import type { LaunchSpec } from './spec.js';

/**
 * The evidence source the spec names. `gramine` reads /dev/attestation (or
 * `gramine.root`); `sim` quotes with a simulated platform restored from its
 * state file, for development against a broker started with --trust-sim-root.
 * The simulator is loaded only for `sim`, so an enclave never loads it.
 */
export async function evidenceFor(spec: LaunchSpec): Promise<EvidenceProvider> {
  const a = spec.attestation;
  if (a.evidence === 'gramine') return gramineEvidence(spec.gramine.root);
  let state: unknown;
  try {
    state = JSON.parse(await readFile(a.sim.state, 'utf8'));
  } catch (err) {
    throw new LaunchError('LAUNCH_EVIDENCE_UNAVAILABLE', `cannot load the simulated platform state ${a.sim.state}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
      hint: 'point attestation.sim.state at the file the broker trusts with --trust-sim-root',
    });
  }
  const { SimulatedPlatform } = await import('../sim/platform.js');
  let platform;
  try {
    platform = SimulatedPlatform.fromJSON(state);
  } catch (err) {
    throw new LaunchError('LAUNCH_EVIDENCE_UNAVAILABLE', `${a.sim.state} is not a simulated platform state: ${(err as Error).message}`, { cause: err });
  }
  const { state: _state, ...identity } = a.sim;
  return simEvidence(platform, identity);
}
