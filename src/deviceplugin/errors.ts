import { KubeteeError } from '../common/errors.js';

/** Stable codes (docs/node-agent.md lists each; a test checks) of the device-plugin framework. */
export const DEVICE_PLUGIN_ERROR_CODES = [
  /** Another live server already answers on this plugin socket: refuse to start a second one. */
  'DP_SOCKET_IN_USE',
  /** The resource name is not a valid extended resource name (domain/name, not kubernetes.io). */
  'DP_RESOURCE_NAME_INVALID',
  /** The plugin socket could not be created (directory not writable, path too long). */
  'DP_LISTEN_FAILED',
  /** The plugin was asked to do something after close(). */
  'DP_CLOSED',
] as const;

export type DevicePluginErrorCode = (typeof DEVICE_PLUGIN_ERROR_CODES)[number];

export class DevicePluginError extends KubeteeError<DevicePluginErrorCode> {
  constructor(code: DevicePluginErrorCode, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(code, message, options);
  }
}
