/** Runs one DevicePluginServer per device part (one resource, one socket each). */
import type { DevicePart } from './api.js';
import { DevicePluginServer, type DevicePluginServerOptions, type DevicePluginStatus } from './server.js';

export interface DevicePlugins {
  servers: DevicePluginServer[];
  status(): DevicePluginStatus[];
  close(): Promise<void>;
}

export async function startDevicePlugins(parts: DevicePart[], options: DevicePluginServerOptions): Promise<DevicePlugins> {
  const servers: DevicePluginServer[] = [];
  try {
    for (const part of parts) {
      const s = new DevicePluginServer(part, options);
      await s.start();
      servers.push(s);
    }
  } catch (err) {
    await Promise.all(servers.map((s) => s.close()));
    throw err;
  }
  return {
    servers,
    status: () => servers.map((s) => s.status()),
    close: async () => {
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}
