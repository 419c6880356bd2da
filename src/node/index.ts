/** Node side: probing a host for SGX, the node agent, labels, accounting, DaemonSet facts. */
export { probeNode, probeToJson, formatProbe, summarize, type NodeProbe, type NodeProbeJson, type ProbeOptions } from './probe.js';
export { startNodeAgent, type NodeAgent, type NodeAgentOptions, type NodeAgentStatus } from './agent.js';
export { nodeLabelsFor, nodeAnnotationsFor, nodeCapacityFor, nfdFeatureFile, writeNfdFeatureFile, loadKubeConfig, publishNodeLabels } from './labels.js';
export { accountEpc, listPodResources, type ContainerEpc, type PodResourcesPod } from './pod-resources.js';
export { watchSgxState, type SgxStateWatcher } from './sgx-state-watch.js';
export { detectSgxDevices, type SgxDriverKind } from './devices.js';
export { checkAesmSocket, aesmSocketPath } from './aesm.js';
export { detectMiscCgroupEpc, parseMiscEpc, writeEpcLimit } from './misc-cgroup.js';
export { NODE_AGENT_FACTS, AESM_FACTS, type HostPathFact } from './manifests.js';
export { HOST_PATHS, SGX_DEVICE_PATHS, DEFAULT_AESM_SOCKET_DIR, DEFAULT_POD_RESOURCES_SOCKET } from './host-paths.js';
export { NodeError, type NodeErrorCode } from './errors.js';
