import { readContainerEpc } from '../epc.js';
import { listContainers, type Pod } from '../pod.js';

/**
 * The EPC a pod needs at its peak, by Kubernetes' effective-request rule:
 * app containers plus native sidecars run together; a regular init container
 * runs alone (next to the sidecars). Limits are what the device plugin allocates.
 */
export function totalPodEpcBytes(pod: Pod): bigint {
  let running = 0n;
  let sidecars = 0n;
  let peakInit = 0n;
  for (const r of listContainers(pod)) {
    const epc = readContainerEpc(r.container);
    const b = epc.bytes.limits ?? epc.bytes.requests ?? 0n;
    if (r.kind === 'container') running += b;
    else if (r.kind === 'sidecar') sidecars += b;
    else if (b > peakInit) peakInit = b;
  }
  const steady = running + sidecars;
  const init = peakInit + sidecars;
  return steady > init ? steady : init;
}
