/**
 * A simulated Intel PCS (Provisioning Certification Service) v4 for one
 * platform: the collateral paths and headers of api.trustedservices.intel.com
 * and PCCS (docs/attestation.md §4), so collateral-fetching code can be
 * tested against real HTTP. Every response is produced fresh from the
 * platform at request time.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crlPem } from './collateral.js';
import { SimError } from './errors.js';
import type { QuoteCollateralV3Json, SimPckCa, SimPcsServer, SimServeOptions } from './types.js';

/** What the server needs from a platform. */
export interface PcsSource {
  readonly fmspc: string;
  readonly pckCa: SimPckCa;
  collateral(): QuoteCollateralV3Json;
}

export const PCS_PATHS = {
  tcb: '/sgx/certification/v4/tcb',
  qeIdentity: '/sgx/certification/v4/qe/identity',
  pckCrl: '/sgx/certification/v4/pckcrl',
  rootCaCrl: '/sgx/certification/v4/rootcacrl',
} as const;

interface Reply {
  status: number;
  body: string | Uint8Array;
  contentType: string;
  headers?: Record<string, string>;
}

function error(status: number, message: string): Reply {
  return { status, body: JSON.stringify({ error: message }), contentType: 'application/json' };
}

/** Issuer chains travel URL-encoded in a header, as PCS sends them. */
const chainHeader = (pem: string): string => encodeURIComponent(pem);

/** Routes one request; pure apart from asking the source for fresh collateral. */
export function routePcsRequest(source: PcsSource, method: string, rawUrl: string): Reply {
  if (method !== 'GET' && method !== 'HEAD') return error(405, `method ${method} not allowed; the PCS API is read-only (GET)`);
  const url = new URL(rawUrl, 'http://pcs.invalid');
  switch (url.pathname) {
    case PCS_PATHS.tcb: {
      const fmspc = url.searchParams.get('fmspc');
      if (!fmspc || !/^[0-9a-fA-F]{12}$/.test(fmspc)) return error(400, 'query parameter fmspc must be 12 hex digits');
      if (fmspc.toLowerCase() !== source.fmspc) return error(404, `no TCB Info for FMSPC ${fmspc}; this simulated platform's FMSPC is ${source.fmspc}`);
      const c = source.collateral();
      return {
        status: 200,
        body: `{"tcbInfo":${c.tcb_info},"signature":"${c.tcb_info_signature}"}`,
        contentType: 'application/json',
        headers: { 'TCB-Info-Issuer-Chain': chainHeader(c.tcb_info_issuer_chain) },
      };
    }
    case PCS_PATHS.qeIdentity: {
      const c = source.collateral();
      return {
        status: 200,
        body: `{"enclaveIdentity":${c.qe_identity},"signature":"${c.qe_identity_signature}"}`,
        contentType: 'application/json',
        headers: { 'SGX-Enclave-Identity-Issuer-Chain': chainHeader(c.qe_identity_issuer_chain) },
      };
    }
    case PCS_PATHS.pckCrl: {
      const ca = url.searchParams.get('ca');
      if (ca !== 'processor' && ca !== 'platform') return error(400, "query parameter ca must be 'processor' or 'platform'");
      const encoding = url.searchParams.get('encoding');
      if (encoding !== null && encoding !== 'der' && encoding !== 'pem') return error(400, "query parameter encoding must be 'der' or 'pem'");
      if (ca !== source.pckCa) return error(404, `this simulated platform's PCK certificate is issued by the ${source.pckCa} CA, not the ${ca} CA`);
      const c = source.collateral();
      const der = Buffer.from(c.pck_crl, 'hex');
      const headers = { 'SGX-PCK-CRL-Issuer-Chain': chainHeader(c.pck_crl_issuer_chain) };
      return encoding === 'der'
        ? { status: 200, body: der, contentType: 'application/pkix-crl', headers }
        : { status: 200, body: crlPem(der), contentType: 'application/x-pem-file', headers };
    }
    case PCS_PATHS.rootCaCrl:
      // PCCS serves the Root CA CRL as hex text of the DER (dcap-qvl hex-decodes it).
      return { status: 200, body: source.collateral().root_ca_crl, contentType: 'text/plain' };
    default:
      return error(404, `no such PCS path ${url.pathname}; served: ${Object.values(PCS_PATHS).join(', ')}`);
  }
}

function send(res: ServerResponse, method: string, reply: Reply): void {
  res.statusCode = reply.status;
  res.setHeader('Content-Type', reply.contentType);
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
  const body = typeof reply.body === 'string' ? Buffer.from(reply.body, 'utf8') : reply.body;
  res.setHeader('Content-Length', body.length);
  res.end(method === 'HEAD' ? undefined : body);
}

export function servePcs(source: PcsSource, options: SimServeOptions = {}): Promise<SimPcsServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    let reply: Reply;
    try {
      reply = routePcsRequest(source, method, req.url ?? '/');
    } catch (err) {
      // Never leak a stack trace; the platform's own errors carry a safe message.
      reply = error(500, err instanceof SimError ? err.message : 'internal error in the simulated PCS');
    }
    send(res, method, reply);
  });
  // Idle keep-alive sockets must not hold close() open.
  server.keepAliveTimeout = 1000;
  return new Promise((resolve, reject) => {
    server.once('error', (cause) =>
      reject(new SimError('SIM_SERVE_FAILED', `simulated PCS could not listen on ${host}:${port}: ${(cause as Error).message}`, { cause, hint: 'pick another port or use port 0' })),
    );
    server.listen(port, host, () => {
      const address = server.address() as AddressInfo;
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      resolve({
        url: `http://${shownHost}:${address.port}`,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((err) => (err ? fail(err) : done()));
            server.closeAllConnections();
          }),
      });
    });
  });
}
