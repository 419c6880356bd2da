import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ControlPlaneComponent } from './control-plane.js';

/** Host names a loopback-bound stack answers to. */
export function isLoopbackHostHeader(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/**
 * Browser-borne attacks on a loopback service. DNS rebinding: a web page
 * whose name now resolves to 127.0.0.1 is "same origin" with us, so the
 * browser lets it read pages and call the development endpoints (which mint
 * quotes the key broker trusts); its requests still carry the attacker's name
 * in Host, so anything but a loopback name is refused. Cross-site form posts:
 * a form on any site can POST to 127.0.0.1, so state-changing requests whose
 * Origin is not this server are refused.
 */
export function hostGuard(): ControlPlaneComponent {
  return {
    name: 'loopback host guard',
    register(app: FastifyInstance) {
      app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
        if (!isLoopbackHostHeader(req.headers.host)) {
          return reply.code(403).send({ code: 'HOST_NOT_LOOPBACK', message: `this development stack answers only to loopback host names, not "${req.headers.host ?? ''}"`, hint: 'open it as http://127.0.0.1:<port>/' });
        }
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          const origin = req.headers.origin;
          const crossSite = req.headers['sec-fetch-site'] === 'cross-site';
          if (crossSite || (origin !== undefined && origin !== 'null' && new URL(origin).host !== req.headers.host) || origin === 'null') {
            return reply.code(403).send({ code: 'CROSS_ORIGIN_REFUSED', message: `a ${req.method} from ${origin ?? 'another site'} was refused`, hint: 'use the dashboard or the CLI on this machine' });
          }
        }
        return undefined;
      });
    },
  };
}
