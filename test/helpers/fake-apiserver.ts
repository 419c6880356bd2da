import { createServer, type IncomingMessage } from 'node:http';

export interface RecordedRequest {
  method: string;
  url: string;
  contentType: string;
  body: unknown;
}

/**
 * A minimal stand-in for kube-apiserver's node endpoints (no kube-apiserver
 * binary can run in the unit suite): records PATCH requests and answers with a
 * Node object; `failWith` makes it answer an error status.
 */
export async function startFakeApiServer(): Promise<{
  url: string;
  requests: RecordedRequest[];
  failWith: { status: number } | null;
  pods: unknown[];
  /** Node status per node name, as merge patches to nodes/<name>/status left it; GET returns it. */
  nodeStatus: Map<string, Record<string, Record<string, string>>>;
  close(): Promise<void>;
}> {
  const requests: RecordedRequest[] = [];
  const nodeStatus = new Map<string, Record<string, Record<string, string>>>();
  const state: { failWith: { status: number } | null; pods: unknown[] } = { failWith: null, pods: [] };
  const read = (req: IncomingMessage): Promise<string> =>
    new Promise((resolve) => {
      let s = '';
      req.on('data', (c: Buffer) => (s += c.toString()));
      req.on('end', () => resolve(s));
    });
  const server = createServer(async (req, res) => {
    const text = await read(req);
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // keep raw
    }
    requests.push({ method: req.method ?? '', url: req.url ?? '', contentType: String(req.headers['content-type'] ?? ''), body });
    if (state.failWith) {
      res.writeHead(state.failWith.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'nodes "x" is forbidden', reason: 'Forbidden', code: state.failWith.status }));
      return;
    }
    if (req.method === 'GET' && (req.url ?? '').startsWith('/api/v1/pods')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items: state.pods }));
      return;
    }
    const name = /\/api\/v1\/nodes\/([^/?]+)/.exec(req.url ?? '')?.[1] ?? 'node';
    if (req.method === 'PATCH' && /\/api\/v1\/nodes\/[^/]+\/status/.test(req.url ?? '')) {
      const patch = ((body as { status?: Record<string, Record<string, string>> }).status ?? {});
      const current = nodeStatus.get(name) ?? {};
      for (const [field, values] of Object.entries(patch)) current[field] = { ...(current[field] ?? {}), ...values };
      nodeStatus.set(name, current);
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Node', apiVersion: 'v1', metadata: { name }, status: nodeStatus.get(name) ?? {} }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get failWith() {
      return state.failWith;
    },
    set failWith(v) {
      state.failWith = v;
    },
    get pods() {
      return state.pods;
    },
    set pods(v) {
      state.pods = v;
    },
    nodeStatus,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export function kubeconfigYaml(server: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: test\n  cluster:\n    server: ${server}\n    insecure-skip-tls-verify: true`,
    'users:',
    '- name: test\n  user:\n    token: test-token',
    'contexts:',
    '- name: test\n  context:\n    cluster: test\n    user: test',
    'current-context: test',
    '',
  ].join('\n');
}
