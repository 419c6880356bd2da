import type { FastifyReply, FastifyRequest } from 'fastify';
import { html, type SafeHtml } from '../dashboard/html.js';
import { page } from '../dashboard/layout.js';
import type { ControlPlaneComponent } from './control-plane.js';

interface ApiIndex {
  path: string;
  title: string;
  about: string;
  endpoints: [method: string, path: string, what: string][];
  tryIt: string;
}

/**
 * The startup screen prints /kbs/v0 and /admin/v1: opened in a browser they
 * are APIs for programs, not pages, so each answers with a short index of its
 * endpoints (HTML for a browser, JSON otherwise) instead of a bare 404.
 */
const INDEXES: ApiIndex[] = [
  {
    path: '/kbs/v0',
    title: 'Key broker (Trustee KBS protocol)',
    about: 'What enclaves call to attest and receive secrets. A program speaks it (kubetee kbs get-resource, kubetee unseal, Confidential Containers clients), not a browser.',
    endpoints: [
      ['POST', '/kbs/v0/auth', 'start a session: returns a nonce'],
      ['POST', '/kbs/v0/attest', 'send a quote binding the nonce and a TEE key: returns an attestation token'],
      ['GET', '/kbs/v0/resource/<repository>/<type>/<tag>', 'a secret, encrypted to the TEE key, if the release policy allows it'],
    ],
    tryIt: 'npx kubetee kbs get-resource --kbs URL --resource demo/model-protection/model-key --evidence sim --sim-state .kubetee/sim-platform.json --mrenclave HEX',
  },
  {
    path: '/admin/v1',
    title: 'Key broker admin API',
    about: 'Secrets, policies, tokens and the audit trail, with the bearer token in <data dir>/admin-token. Use the kubetee CLI or curl; the dashboard shows the same data read-only.',
    endpoints: [
      ['GET', '/admin/v1/secrets', 'list secrets and their versions (never values)'],
      ['PUT', '/admin/v1/secrets/<path>', 'store a new version'],
      ['GET, PUT', '/admin/v1/policies/<path>', 'read or set a release policy'],
      ['GET', '/admin/v1/audit/verify', 're-verify the hash-chained audit trail'],
      ['GET, POST', '/admin/v1/tokens', 'list or create admin tokens'],
    ],
    tryIt: 'KUBETEE_KBS_URL=URL KUBETEE_KBS_TOKEN_FILE=.kubetee/admin-token npx kubetee secret list',
  },
];

function wantsHtml(req: FastifyRequest): boolean {
  return /text\/html/.test(req.headers.accept ?? '');
}

function indexBody(index: ApiIndex, url: string): SafeHtml {
  return html`<p class="lead">${index.about}</p>
<div class="card table-wrap"><table class="api-index stack"><thead><tr><th>Method</th><th>Path</th><th>What</th></tr></thead>
<tbody>${index.endpoints.map(([m, p, w]) => html`<tr><td class="nowrap">${m}</td><td class="mono">${p}</td><td>${w}</td></tr>`)}</tbody></table></div>
<h2>Try it</h2><pre class="mono card">${index.tryIt.replace('URL', url)}</pre>`;
}

export function apiIndexes(): ControlPlaneComponent {
  let url = '';
  return {
    name: 'API index pages',
    register: (app) => {
      for (const index of INDEXES) {
        const handler = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
          if (!wantsHtml(req)) return reply.send({ name: index.title, endpoints: index.endpoints.map(([method, path, what]) => ({ method, path, what })) });
          return reply
            .header('content-type', 'text/html; charset=utf-8')
            .header('content-security-policy', "default-src 'self'; frame-ancestors 'none'")
            .header('cache-control', 'no-store')
            .send(page({ title: index.title, path: index.path, body: indexBody(index, url), base: '' }).toString());
        };
        app.get(index.path, handler);
        app.get(`${index.path}/`, handler);
      }
    },
    started: (u) => void (url = u),
  };
}
