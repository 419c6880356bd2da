/** SGX device part for the generic device-plugin framework (profiles alibaba and intel). */
export * from './device-specs.js';
export * from './state.js';
export * from './profiles.js';
