/**
 * Pure: which host device nodes a container gets for SGX, given the nodes that
 * exist. Containers always see both spellings (in-kernel `/dev/sgx_enclave`
 * and the DCAP/udev alias `/dev/sgx/enclave`) because SDK and PSW builds
 * differ in which one they open; the host side is whichever exists.
 */
import type { DeviceSpec } from '../api.js';

export const SGX_NODES = {
  enclave: '/dev/sgx_enclave',
  provision: '/dev/sgx_provision',
  enclaveAlias: '/dev/sgx/enclave',
  provisionAlias: '/dev/sgx/provision',
  legacy: '/dev/isgx',
  legacyEarly: '/dev/sgx',
} as const;

function spec(host: string, container: string): DeviceSpec {
  return { host_path: host, container_path: container, permissions: 'rw' };
}

function pair(present: ReadonlySet<string>, main: string, alias: string): DeviceSpec[] {
  const out: DeviceSpec[] = [];
  const mainHost = present.has(main) ? main : present.has(alias) ? alias : undefined;
  const aliasHost = present.has(alias) ? alias : present.has(main) ? main : undefined;
  if (mainHost) out.push(spec(mainHost, main));
  if (aliasHost) out.push(spec(aliasHost, alias));
  return out;
}

/** Specs for running enclaves (no provisioning key access). Empty when no enclave node exists. */
export function enclaveDeviceSpecs(present: ReadonlySet<string>): DeviceSpec[] {
  const out = pair(present, SGX_NODES.enclave, SGX_NODES.enclaveAlias);
  if (present.has(SGX_NODES.legacy)) out.push(spec(SGX_NODES.legacy, SGX_NODES.legacy));
  if (present.has(SGX_NODES.legacyEarly)) out.push(spec(SGX_NODES.legacyEarly, SGX_NODES.legacyEarly));
  return out;
}

/** Specs for /dev/sgx_provision (grants PROVISIONKEY: only for containers that asked). */
export function provisionDeviceSpecs(present: ReadonlySet<string>): DeviceSpec[] {
  return pair(present, SGX_NODES.provision, SGX_NODES.provisionAlias);
}
