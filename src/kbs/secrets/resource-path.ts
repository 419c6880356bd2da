import { KbsStoreError } from '../store/errors.js';

/*
 * Trustee's resource plugin accepts exactly `<repo>/<type>/<tag>`; each segment
 * starts with [A-Za-z0-9_-] and may then also contain '.'. Keeping the same
 * rule means every path stored here is reachable by Trustee clients, and '..'
 * or empty segments can never appear.
 */
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;
const MAX_SEGMENT = 128;

/** Returns the path unchanged when valid; throws INVALID_RESOURCE_PATH saying which part is wrong. */
export function parseResourcePath(path: unknown): string {
  if (typeof path !== 'string') {
    throw new KbsStoreError('INVALID_RESOURCE_PATH', 'the resource path is missing', { hint: 'give it as repo/type/tag, e.g. default/key/model' });
  }
  const parts = path.split('/');
  if (parts.length !== 3) {
    throw new KbsStoreError('INVALID_RESOURCE_PATH', `"${clip(path)}" has ${parts.length} segment(s); a resource path is repo/type/tag`, {
      hint: 'give it as repo/type/tag, e.g. default/key/model',
    });
  }
  const names = ['repo', 'type', 'tag'] as const;
  parts.forEach((p, i) => {
    if (p.length > MAX_SEGMENT || !SEGMENT.test(p)) {
      throw new KbsStoreError('INVALID_RESOURCE_PATH', `the ${names[i]} segment "${clip(p)}" of "${clip(path)}" is not allowed`, {
        hint: `segments are 1-${MAX_SEGMENT} characters of A-Z a-z 0-9 _ - and ., not starting with .`,
      });
    }
  });
  return path;
}

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
