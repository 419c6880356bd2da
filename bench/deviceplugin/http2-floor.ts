// Benchmark reference, not product code: the least a Node.js process can do to
// answer the device-plugin API. It answers Allocate with one precomputed
// /dev/sgx_enclave spec straight on node:http2 (gRPC framing by hand, no gRPC
// library, no validation), lists 110 slots and registers with kubelet. Its
// Allocate latency is the floor of Node's HTTP/2 stack on this machine, so the
// benchmark can show how much of kubetee's cost is the runtime and how much
// is kubetee's own. Usage: node --import tsx http2-floor.ts <plugin-dir>
import http2 from 'node:http2';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { devicePluginApi } from '../../src/deviceplugin/proto.js';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: http2-floor.ts <plugin-dir>');
  process.exit(2);
}
const api = devicePluginApi();
const methods = api.devicePlugin.service as unknown as Record<string, { responseSerialize(v: unknown): Buffer }>;
const frame = (message: Buffer): Buffer => {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
};
const allocateReply = frame(
  methods['Allocate']!.responseSerialize({ container_responses: [{ envs: {}, mounts: [], devices: [{ container_path: '/dev/sgx_enclave', host_path: '/dev/sgx_enclave', permissions: 'rw' }], annotations: {}, cdi_devices: [] }] }),
);
const optionsReply = frame(methods['GetDevicePluginOptions']!.responseSerialize({ pre_start_required: false, get_preferred_allocation_available: false }));
const listReply = frame(methods['ListAndWatch']!.responseSerialize({ devices: Array.from({ length: 110 }, (_, i) => ({ ID: `sgx-enclave-${i}`, health: 'Healthy' })) }));
const OK_HEADERS = { ':status': 200, 'content-type': 'application/grpc' };

function unary(stream: http2.ServerHttp2Stream, reply: Buffer): void {
  stream.respond(OK_HEADERS, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  stream.end(reply);
}

const server = http2.createServer();
server.on('stream', (stream, headers) => {
  const path = headers[':path'];
  if (path === '/v1beta1.DevicePlugin/ListAndWatch') {
    stream.respond(OK_HEADERS);
    stream.write(listReply);
    return;
  }
  stream.resume();
  stream.on('end', () => {
    if (path === '/v1beta1.DevicePlugin/Allocate') unary(stream, allocateReply);
    else if (path === '/v1beta1.DevicePlugin/GetDevicePluginOptions') unary(stream, optionsReply);
    else stream.respond({ ...OK_HEADERS, 'grpc-status': '12' }, { endStream: true });
  });
});
const socket = join(dir, 'http2-floor.sock');
rmSync(socket, { force: true });
server.listen(socket, () => {
  const client = new api.registration.client(`unix:${join(dir, 'kubelet.sock')}`, grpc.credentials.createInsecure()) as unknown as {
    Register(req: object, cb: (err: Error | null) => void): void;
  };
  client.Register({ version: 'v1beta1', endpoint: 'http2-floor.sock', resource_name: 'sgx.intel.com/enclave' }, (err) => {
    if (err) {
      console.error(`register: ${err.message}`);
      process.exit(1);
    }
  });
});
process.on('SIGTERM', () => process.exit(0));
