/**
 * The ListAndWatch message as kubelet receives it, and its size. kubelet's
 * gRPC client accepts at most 4 MiB per message (kubernetes/kubernetes#109304)
 * and drops the whole stream above it, so sizes are measured with the real
 * serializer, never estimated.
 */
import { HEALTHY, UNHEALTHY, type DeviceInfo } from './api.js';
import { devicePluginApi, type ListAndWatchResponse, type WireDevice } from './proto.js';

/** kubelet's default gRPC receive limit. */
export const KUBELET_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Smallest encoding of one device (1-char ID, "Healthy", no topology): a lower bound for quick rejection. */
const MIN_DEVICE_BYTES = 2 + (2 + 1) + (2 + HEALTHY.length);

export function toWire(d: DeviceInfo): WireDevice {
  return {
    ID: d.id,
    health: d.healthy ? HEALTHY : UNHEALTHY,
    topology: d.numaNodes && d.numaNodes.length > 0 ? { nodes: d.numaNodes.map((n) => ({ ID: n })) } : null,
  };
}

export function encodeListAndWatch(msg: ListAndWatchResponse): Buffer {
  const method = devicePluginApi().devicePlugin.service['ListAndWatch'] as unknown as { responseSerialize(m: ListAndWatchResponse): Buffer };
  return method.responseSerialize(msg);
}

/** Encoded size of the ListAndWatch message that advertises `devices`. */
export function listAndWatchBytes(devices: readonly DeviceInfo[]): number {
  return encodeListAndWatch({ devices: devices.map(toWire) }).length;
}

/** Whether one ListAndWatch message can advertise all `devices` (cheap rejection for huge lists). */
export function fitsOneMessage(devices: readonly DeviceInfo[], maxBytes = KUBELET_MAX_MESSAGE_BYTES): boolean {
  if (devices.length * MIN_DEVICE_BYTES > maxBytes) return false;
  return listAndWatchBytes(devices) <= maxBytes;
}
