import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { KubeteeError } from '../common/errors.js';

/**
 * htmx is served from the installed npm package (pinned in package.json), not
 * copied into the repository; read once at startup so a broken install fails
 * loudly before the server listens.
 */
export function loadHtmx(): string {
  const require = createRequire(import.meta.url);
  try {
    return readFileSync(require.resolve('htmx.org/dist/htmx.min.js'), 'utf8');
  } catch (err) {
    throw new KubeteeError('DASHBOARD_ASSET_MISSING', 'cannot read htmx.org/dist/htmx.min.js from node_modules', {
      cause: err,
      hint: 'run npm ci in the kubetee checkout',
    });
  }
}
