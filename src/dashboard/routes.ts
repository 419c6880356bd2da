import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { page } from './layout.js';
import type { SafeHtml } from './html.js';
import type { DashboardSource, Section, VerifyResultView } from './model.js';
import { unavailable } from './model.js';
import { STYLESHEET } from './styles.js';
import { loadHtmx } from './assets.js';
import { live } from './pages/live.js';
import { overviewBody } from './pages/overview.js';
import { nodesBody } from './pages/nodes.js';
import { attestationsBody } from './pages/attestations.js';
import { secretsBody } from './pages/secrets.js';
import { auditBody } from './pages/audit.js';
import { admissionsBody } from './pages/admissions.js';
import { verifyBody, verifyResult } from './pages/verify.js';
import { scenarioBody, scenarioRun } from './pages/scenario.js';
import { fromHex } from '../common/hex.js';
import { html } from './html.js';

export interface DashboardOptions {
  source: DashboardSource;
  /** Mount path, '' for the site root. */
  base?: string;
  /** Largest accepted upload on the verify page (quote + collateral). */
  maxUploadBytes?: number;
}

/** Browsers may only load scripts and styles from this server; inline styles carry bar widths. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'";

/**
 * Registers the dashboard pages on a fastify instance (call before listen).
 * Encapsulated, so its body parsers (form posts, uploads) apply only to its own routes.
 */
export async function registerDashboard(parent: FastifyInstance, options: DashboardOptions): Promise<void> {
  await parent.register(async (app) => dashboardRoutes(app, options));
  // Any path nothing answers: a page for a browser (with the navigation), JSON for programs.
  parent.setNotFoundHandler(async (req, reply) => {
    reply.code(404);
    if (!/text\/html/.test(req.headers.accept ?? '')) return { code: 'NOT_FOUND', message: `nothing at ${req.method} ${req.url.split('?')[0]}`, hint: 'see the startup screen for what runs where' };
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', CSP)
      .header('cache-control', 'no-store')
      .send(page({ title: 'Page not found', path: '', body: notFoundBody(options.base ?? '', req.url.split('?')[0] ?? ''), base: options.base ?? '' }).toString());
  });
}

function notFoundBody(base: string, path: string): SafeHtml {
  return html`<div class="card" data-not-found="${path}"><p>Nothing lives at <code class="mono">${path}</code>.</p>
<p>The dashboard's pages are in the bar above; start with the <a href="${base}/">overview</a>. The key broker's APIs are described at <a href="/kbs/v0">/kbs/v0</a> and <a href="/admin/v1">/admin/v1</a>.</p></div>`;
}

function dashboardRoutes(app: FastifyInstance, options: DashboardOptions): void {
  const base = options.base ?? '';
  const { source } = options;
  const htmx = loadHtmx();
  const maxUpload = options.maxUploadBytes ?? 4 * 1024 * 1024;

  app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer', bodyLimit: maxUpload }, (_req, body, done) => done(null, body));
  // An upload above the limit is refused before the route runs: answer it as the verify page's own result, not framework JSON.
  app.setErrorHandler(async (err: { statusCode?: number; code?: string; message: string }, req, reply) => {
    const status = err.statusCode ?? 500;
    if (req.method === 'POST' && req.url.split('?')[0] === `${base}/verify` && status === 413) {
      const result = uploadError('UPLOAD_TOO_LARGE', `the upload is larger than ${Math.round(maxUpload / 1048576)} MiB; a quote and its collateral are a few hundred KiB`);
      const body = req.headers['hx-request'] ? verifyResult(result) : verifyBody(`${base}/verify`, source.trustAnchors(), result, source.verifySamples());
      return send(reply.code(413), 'Verify a quote', '/verify', body);
    }
    throw err;
  });
  // The scenario button posts an empty form; nothing in it is read.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_req, body, done) => done(null, body));

  const send = (reply: FastifyReply, title: string, path: string, body: SafeHtml): FastifyReply =>
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'no-store')
      .send(page({ title, path, body, base }).toString());

  app.get(`${base}/assets/style.css`, async (_req, reply) =>
    reply.header('content-type', 'text/css; charset=utf-8').header('cache-control', 'max-age=300').send(STYLESHEET),
  );
  app.get(`${base}/assets/htmx.min.js`, async (_req, reply) =>
    reply.header('content-type', 'text/javascript; charset=utf-8').header('cache-control', 'max-age=3600').send(htmx),
  );

  app.get(`${base}/`, async (_req, reply) => {
    const [nodes, attestations, audit] = await Promise.all([source.nodes(), source.attestations(), source.audit()]);
    return send(reply, 'Overview', '/', live(`${base}/`, overviewBody(base, { components: source.components(), nodes, attestations, audit })));
  });
  app.get(`${base}/nodes`, async (_req, reply) => send(reply, 'Nodes', '/nodes', live(`${base}/nodes`, nodesBody(await source.nodes()))));
  app.get(`${base}/attestations`, async (_req, reply) =>
    send(reply, 'Attestations', '/attestations', live(`${base}/attestations`, attestationsBody(await source.attestations()))),
  );
  app.get(`${base}/secrets`, async (_req, reply) => send(reply, 'Secrets and keys', '/secrets', live(`${base}/secrets`, secretsBody(await source.secrets()))));
  app.get(`${base}/audit`, async (_req, reply) => send(reply, 'Audit trail', '/audit', live(`${base}/audit`, auditBody(await source.audit()))));
  app.get(`${base}/admissions`, async (_req, reply) =>
    send(reply, 'Admission decisions', '/admissions', live(`${base}/admissions`, admissionsBody(await source.admissions()))),
  );

  app.get(`${base}/verify`, async (_req, reply) => send(reply, 'Verify a quote', '/verify', verifyBody(`${base}/verify`, source.trustAnchors(), undefined, source.verifySamples())));
  app.post(`${base}/verify`, async (req, reply) => {
    const result = await verifyUpload(req, source);
    const body = req.headers['hx-request'] ? verifyResult(result) : verifyBody(`${base}/verify`, source.trustAnchors(), result, source.verifySamples());
    return send(reply.code(result.available && !result.data.ok && result.data.errorCode?.startsWith('UPLOAD_') ? 400 : 200), 'Verify a quote', '/verify', body);
  });

  app.get(`${base}/scenario`, async (_req, reply) =>
    send(reply, 'Scenarios', '/scenario', scenarioBody(base, source.scenarios(), (name) => source.lastScenarioRun(name))),
  );
  app.post<{ Params: { name: string } }>(`${base}/scenario/:name/run`, async (req, reply) => {
    if (!source.scenarios().includes(req.params.name)) {
      return reply.code(404).send({ code: 'SCENARIO_UNKNOWN', message: `no scenario named ${req.params.name}`, hint: `try one of: ${source.scenarios().join(', ')}` });
    }
    const run = await source.runScenario(req.params.name);
    if (req.headers['hx-request']) return send(reply, 'Scenarios', '/scenario', scenarioRun(req.params.name, run));
    return reply.redirect(`${base}/scenario`, 303);
  });
}

function uploadError(code: string, message: string): Section<VerifyResultView> {
  return { available: true, data: { ok: false, trustAnchor: '', at: '', advisoryIds: [], checks: [], errorCode: code, errorMessage: message } };
}

/** Decodes the multipart upload (quote binary or hex, collateral JSON, optional time) and verifies it. */
async function verifyUpload(req: FastifyRequest, source: DashboardSource): Promise<Section<VerifyResultView>> {
  const ct = req.headers['content-type'] ?? '';
  if (!ct.startsWith('multipart/form-data') || !Buffer.isBuffer(req.body)) {
    return uploadError('UPLOAD_INVALID', 'send the form as multipart/form-data with the fields quote and collateral');
  }
  let form: FormData;
  try {
    form = await new Request('http://local/', { method: 'POST', headers: { 'content-type': ct }, body: req.body }).formData();
  } catch {
    return uploadError('UPLOAD_INVALID', 'the upload is not valid multipart/form-data');
  }
  const quoteField = form.get('quote');
  const collateralField = form.get('collateral');
  if (!(quoteField instanceof Blob) || quoteField.size === 0) return uploadError('UPLOAD_QUOTE_MISSING', 'choose a quote file');
  if (!(collateralField instanceof Blob) || collateralField.size === 0) return uploadError('UPLOAD_COLLATERAL_MISSING', 'choose a collateral JSON file');
  const quote = decodeQuote(new Uint8Array(await quoteField.arrayBuffer()));
  let collateral: unknown;
  try {
    collateral = JSON.parse(await collateralField.text());
  } catch {
    return uploadError('UPLOAD_COLLATERAL_NOT_JSON', 'the collateral file is not JSON (expected the QuoteCollateralV3 object)');
  }
  const atText = String(form.get('at') ?? '').trim();
  const at = atText === '' ? new Date() : new Date(atText);
  if (Number.isNaN(at.getTime())) return uploadError('UPLOAD_TIME_INVALID', `"${atText}" is not an ISO-8601 time such as 2025-08-30T00:00:00Z`);
  const anchors = source.trustAnchors();
  const trustAnchor = String(form.get('trustAnchor') ?? anchors[0] ?? '');
  if (!anchors.includes(trustAnchor)) {
    return anchors.length === 0 ? unavailable('no trust anchor is configured') : uploadError('UPLOAD_TRUST_ANCHOR_UNKNOWN', `unknown trust anchor "${trustAnchor}"`);
  }
  return source.verifyQuote({ quote, collateral, at, trustAnchor });
}

/** Quotes come as raw bytes or as hex text (optionally 0x-prefixed), like the fixtures. */
function decodeQuote(bytes: Uint8Array): Uint8Array {
  const text = Buffer.from(bytes).toString('latin1').trim();
  if (text.length > 0 && /^(0x)?[0-9a-fA-F\s]+$/.test(text)) return fromHex(text) ?? bytes;
  return bytes;
}
