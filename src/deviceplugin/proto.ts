/**
 * Loads kubetee's own .proto files (package folder `proto/`, shipped in the
 * npm package) at run time with @grpc/proto-loader, and declares the message
 * shapes as TypeScript types. keepCase keeps kubelet's mixed-case field names
 * (`ID`, `available_deviceIDs`), longs as Numbers (NUMA ids are small).
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

// Both src/deviceplugin/ (tsx) and dist/deviceplugin/ (compiled) sit two levels below the package root.
export const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

const LOAD_OPTIONS: protoLoader.Options = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [PROTO_DIR] };

const cache = new Map<string, grpc.GrpcObject>();

/** Loads one of our proto files (path relative to proto/), cached per process. */
export function loadProto(relativePath: string): grpc.GrpcObject {
  let pkg = cache.get(relativePath);
  if (!pkg) {
    pkg = grpc.loadPackageDefinition(protoLoader.loadSync(relativePath, LOAD_OPTIONS));
    cache.set(relativePath, pkg);
  }
  return pkg;
}

export interface ServiceBundle {
  service: grpc.ServiceDefinition;
  client: grpc.ServiceClientConstructor;
}

function bundle(pkg: grpc.GrpcObject, name: string): ServiceBundle {
  const ctor = pkg[name] as grpc.ServiceClientConstructor;
  return { service: ctor.service, client: ctor };
}

/** The v1beta1 device plugin services. */
export function devicePluginApi(): { registration: ServiceBundle; devicePlugin: ServiceBundle } {
  const pkg = loadProto('deviceplugin/v1beta1/api.proto')['v1beta1'] as grpc.GrpcObject;
  return { registration: bundle(pkg, 'Registration'), devicePlugin: bundle(pkg, 'DevicePlugin') };
}

/** The v1 pod resources service. */
export function podResourcesApi(): ServiceBundle {
  const pkg = loadProto('podresources/v1/api.proto')['v1'] as grpc.GrpcObject;
  return bundle(pkg, 'PodResourcesLister');
}

// ---- v1beta1 message shapes (keep-case) ----

export interface DevicePluginOptions {
  pre_start_required: boolean;
  get_preferred_allocation_available: boolean;
}
export interface RegisterRequest {
  version: string;
  endpoint: string;
  resource_name: string;
  options?: DevicePluginOptions | null;
}
export interface WireDevice {
  ID: string;
  health: string;
  topology?: { nodes: { ID: number }[] } | null;
}
export interface ListAndWatchResponse {
  devices: WireDevice[];
}
export interface ContainerPreferredAllocationRequest {
  available_deviceIDs: string[];
  must_include_deviceIDs: string[];
  allocation_size: number;
}
export interface PreferredAllocationRequest {
  container_requests: ContainerPreferredAllocationRequest[];
}
export interface PreferredAllocationResponse {
  container_responses: { deviceIDs: string[] }[];
}
export interface AllocateRequest {
  container_requests: { devices_ids: string[] }[];
}
export interface Mount {
  container_path: string;
  host_path: string;
  read_only: boolean;
}
export interface DeviceSpec {
  container_path: string;
  host_path: string;
  permissions: string;
}
export interface ContainerAllocateResponse {
  envs: Record<string, string>;
  mounts: Mount[];
  devices: DeviceSpec[];
  annotations: Record<string, string>;
  cdi_devices: { name: string }[];
}
export interface AllocateResponse {
  container_responses: ContainerAllocateResponse[];
}
export interface PreStartContainerRequest {
  devices_ids: string[];
}
