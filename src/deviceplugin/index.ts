/** Generic kubelet device-plugin framework (v1beta1): knows nothing about the devices it serves. */
export * from './api.js';
export * from './errors.js';
export { DevicePluginServer, type DevicePluginServerOptions, type DevicePluginStatus } from './server.js';
export { startDevicePlugins, type DevicePlugins } from './manager.js';
export { preferByNuma } from './numa-preferred.js';
export { startKubeletStandin, type KubeletStandin, type StandinResource } from './kubelet-standin.js';
export { KUBELET_MAX_MESSAGE_BYTES, fitsOneMessage, listAndWatchBytes } from './list-size.js';
