import { readFileSync, statSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { WebhookError } from '../errors.js';
import type { RotationResult, SelfManagedCa, TlsMaterial } from './self-managed-ca.js';

/** Where the serving certificate comes from; the server polls `refresh()` and reloads on change. */
export interface TlsSource {
  material(): TlsMaterial;
  /** Re-reads or rotates; 'none' when nothing changed. */
  refresh(): Promise<RotationResult>;
  readonly description: string;
}

export function selfManagedTlsSource(ca: SelfManagedCa): TlsSource {
  return { material: () => ca.material(), refresh: () => ca.refresh(), description: `self-managed CA in ${ca.dir}` };
}

function readPair(certPath: string, keyPath: string, caBundlePath: string | undefined): TlsMaterial {
  let certPem: string;
  let keyPem: string;
  let caBundlePem: string | undefined;
  try {
    certPem = readFileSync(certPath, 'utf8');
    keyPem = readFileSync(keyPath, 'utf8');
    caBundlePem = caBundlePath ? readFileSync(caBundlePath, 'utf8') : undefined;
  } catch (err) {
    throw new WebhookError('TLS_MATERIAL_INVALID', `cannot read the TLS files: ${(err as Error).message}`, { cause: err, hint: 'check --tls-cert and --tls-key' });
  }
  try {
    // Fails on a key that does not match the certificate, or on garbage.
    createSecureContext({ cert: certPem, key: keyPem });
    const notAfter = new Date(new X509Certificate(certPem).validTo);
    return { certPem, keyPem, caBundlePem, notAfter };
  } catch (err) {
    throw new WebhookError('TLS_MATERIAL_INVALID', `${certPath} and ${keyPath} are not a matching PEM certificate and private key: ${(err as Error).message}`, {
      cause: err,
      hint: 'pass the serving certificate (with its chain) and its own key, or use --ca-dir to let kubetee manage them',
    });
  }
}

/**
 * Certificate files managed by someone else (cert-manager, a mounted Secret).
 * They are re-read when their modification time changes, so a renewed Secret
 * is served without a restart.
 */
export function fileTlsSource(certPath: string, keyPath: string, caBundlePath?: string): TlsSource {
  const stamp = (): string => [certPath, keyPath].map((p) => statSync(p).mtimeMs).join(':');
  let current = readPair(certPath, keyPath, caBundlePath);
  let seen = stamp();
  return {
    description: `certificate files ${certPath}, ${keyPath}`,
    material: () => current,
    async refresh() {
      let now: string;
      try {
        now = stamp();
      } catch {
        return 'none'; // mid-update of a mounted Secret; keep serving the previous pair
      }
      if (now === seen) return 'none';
      current = readPair(certPath, keyPath, caBundlePath);
      seen = now;
      return 'certificate';
    },
  };
}
