/** Simulation helpers for tests and `kubetee up`: host-root trees, AESM and pod-resources stand-ins. */
export { createHostTree, SIMULATED_MACHINES, type HostTree, type HostTreeSpec, type HostTreeDriver, type SimulatedMachine } from './host-tree.js';
export { startAesmStandin, type AesmStandin } from './aesm-standin.js';
export { startPodResourcesStandin, type PodResourcesStandin } from './pod-resources-standin.js';
export { startKubeletStandin, type KubeletStandin } from '../../deviceplugin/kubelet-standin.js';
