import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The QuoteCollateralV3 pieces a fixture bundle holds. */
export interface Bundle {
  pck_crl_issuer_chain: string;
  root_ca_crl: string;
  pck_crl: string;
  tcb_info_issuer_chain: string;
  tcb_info: string;
  tcb_info_signature: string;
  qe_identity_issuer_chain: string;
  qe_identity: string;
  qe_identity_signature: string;
}

export interface FixturePcs {
  url: string;
  requests: string[];
  /** Overrides: path prefix -> handler (to simulate bad answers). */
  override: Map<string, (res: ServerResponse) => void>;
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1 (port 0) answering the Intel PCS v4 paths
 * with the pieces of a real fixture bundle, in PCS wire formats: DER CRLs,
 * `{"tcbInfo":...,"signature":...}` documents, URL-encoded PEM issuer-chain
 * headers, and the Root CA CRL as hex text (as PCCS serves it).
 */
export async function startFixturePcs(bundle: Bundle, fmspc: string, ca: 'processor' | 'platform', tee: 'sgx' | 'tdx' = 'sgx'): Promise<FixturePcs> {
  const requests: string[] = [];
  const override = new Map<string, (res: ServerResponse) => void>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '';
    requests.push(url);
    for (const [prefix, handler] of override) if (url.startsWith(prefix)) return handler(res);
    if (url === `/sgx/certification/v4/pckcrl?ca=${ca}&encoding=der`) {
      res.writeHead(200, { 'content-type': 'application/pkix-crl', 'SGX-PCK-CRL-Issuer-Chain': encodeURIComponent(bundle.pck_crl_issuer_chain) });
      return res.end(Buffer.from(bundle.pck_crl, 'hex'));
    }
    if (url === `/${tee}/certification/v4/tcb?fmspc=${fmspc}`) {
      res.writeHead(200, { 'content-type': 'application/json', 'TCB-Info-Issuer-Chain': encodeURIComponent(bundle.tcb_info_issuer_chain) });
      return res.end(`{"tcbInfo":${bundle.tcb_info},"signature":"${bundle.tcb_info_signature}"}`);
    }
    if (url === `/${tee}/certification/v4/qe/identity`) {
      res.writeHead(200, { 'content-type': 'application/json', 'SGX-Enclave-Identity-Issuer-Chain': encodeURIComponent(bundle.qe_identity_issuer_chain) });
      return res.end(`{"enclaveIdentity":${bundle.qe_identity},"signature":"${bundle.qe_identity_signature}"}`);
    }
    if (url === '/sgx/certification/v4/rootcacrl') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      return res.end(bundle.root_ca_crl);
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error":"not found"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    override,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
