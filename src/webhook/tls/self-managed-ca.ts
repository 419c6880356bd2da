import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { WebhookError } from '../errors.js';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
const crypto = webcrypto;
const ALG: webcrypto.EcKeyGenParams & webcrypto.EcdsaParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY_MS = 86_400_000;
/** Certificates start this long before their creation, tolerating clocks (API servers') that lag ours. */
const BACKDATE_MS = 3_600_000;

/** What an HTTPS server needs, plus the CA bundle clients (the API server) must trust. */
export interface TlsMaterial {
  readonly certPem: string;
  readonly keyPem: string;
  /** PEM of every CA a client should trust right now (newest first); undefined when unknown. */
  readonly caBundlePem: string | undefined;
  readonly notAfter: Date;
}

export interface SelfManagedCaOptions {
  dir: string;
  /** DNS names and IP addresses the serving certificate must cover. */
  hosts: string[];
  now?: () => Date;
  /** Validity of a new CA (default 365 days). */
  caValidityDays?: number;
  /** Start a new CA when the current one has less than this left (default 60 days). */
  caRenewBeforeDays?: number;
  /** Validity of a serving certificate (default 30 days). */
  certValidityDays?: number;
  /** Renew the serving certificate when less than this is left (default 10 days). */
  certRenewBeforeDays?: number;
  /**
   * How long a new CA is only published (in the bundle) before it signs the
   * serving certificate, so every API server trusts it first (default 10 minutes).
   */
  caPropagationMs?: number;
}

interface KeyedCert {
  cert: x509.X509Certificate;
  key: CryptoKey;
  certPem: string;
  keyPem: string;
}

export type RotationResult = 'none' | 'certificate' | 'ca';

function toPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function fromPem(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

function writeAtomic(path: string, text: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

/**
 * A small CA that lives in a directory (`ca.crt`/`ca.key`, the previous CA as
 * `ca-prev.*` while still valid, the serving pair `tls.crt`/`tls.key`). It
 * creates itself on first use and rotates: the serving certificate before it
 * expires, the CA before it expires, with a window in which the bundle holds
 * both CAs so clients never see a certificate they do not yet trust.
 * ECDSA P-256 keys; one writer per directory.
 */
export class SelfManagedCa {
  private readonly opts: Required<Omit<SelfManagedCaOptions, 'now'>> & { now: () => Date };
  private ca!: KeyedCert;
  private prevCa: KeyedCert | undefined;
  private leaf!: KeyedCert;
  /** A forced rotation not yet reported by refresh(). */
  private pending: RotationResult = 'none';

  private constructor(options: SelfManagedCaOptions) {
    if (options.hosts.length === 0) throw new WebhookError('CA_DIR_UNUSABLE', 'the serving certificate needs at least one host name or IP', { hint: 'pass --listen with a host or --san NAME' });
    this.opts = {
      caValidityDays: 365,
      caRenewBeforeDays: 60,
      certValidityDays: 30,
      certRenewBeforeDays: 10,
      caPropagationMs: 10 * 60_000,
      now: () => new Date(),
      ...options,
    };
  }

  /** Opens (or creates) the CA in `dir` and makes sure a fresh serving certificate exists. */
  static async open(options: SelfManagedCaOptions): Promise<SelfManagedCa> {
    const ca = new SelfManagedCa(options);
    try {
      mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new WebhookError('CA_DIR_UNUSABLE', `cannot create the CA directory ${options.dir}: ${(err as Error).message}`, { cause: err, hint: 'pass --ca-dir with a directory you can write to' });
    }
    await ca.load();
    await ca.refresh();
    return ca;
  }

  get dir(): string {
    return this.opts.dir;
  }

  /** Current serving certificate, key and CA bundle. */
  material(): TlsMaterial {
    return { certPem: this.leaf.certPem, keyPem: this.leaf.keyPem, caBundlePem: this.caBundlePem(), notAfter: this.leaf.cert.notAfter };
  }

  caBundlePem(): string {
    const now = this.opts.now();
    return [this.ca, this.prevCa].filter((c): c is KeyedCert => c !== undefined && c.cert.notAfter > now).map((c) => c.certPem).join('');
  }

  /**
   * Rotates what is due. Called on a timer by the server; returns what changed
   * so the caller can reload TLS and republish the bundle.
   */
  async refresh(): Promise<RotationResult> {
    const now = this.opts.now();
    let result: RotationResult = this.pending;
    this.pending = 'none';
    if (this.prevCa && this.prevCa.cert.notAfter <= now) {
      this.prevCa = undefined;
      this.save();
    }
    if (!this.ca || this.remainingDays(this.ca.cert, now) < this.opts.caRenewBeforeDays) {
      if (this.ca && this.ca.cert.notAfter > now) this.prevCa = this.ca;
      this.ca = await this.createCa(now);
      this.save();
      result = 'ca';
    }
    const signer = this.signingCa(now);
    const leafStale =
      !this.leaf ||
      this.remainingDays(this.leaf.cert, now) < this.opts.certRenewBeforeDays ||
      this.leaf.cert.notAfter > signer.cert.notAfter ||
      !this.coversHosts(this.leaf.cert) ||
      (signer === this.ca && this.leaf.cert.issuer !== this.ca.cert.subject) ||
      !(await this.leaf.cert.verify({ publicKey: signer.cert.publicKey, signatureOnly: true }, crypto));
    if (leafStale) {
      this.leaf = await this.createLeaf(signer, now);
      this.save();
      if (result === 'none') result = 'certificate';
    }
    return result;
  }

  /**
   * Forces a new CA now (for a suspected key compromise or a test). The
   * serving certificate moves to it after the propagation window; the next
   * refresh() reports 'ca' so the caller republishes the bundle.
   */
  async rotateCa(): Promise<void> {
    this.prevCa = this.ca;
    this.ca = await this.createCa(this.opts.now());
    this.save();
    this.pending = 'ca';
  }

  /** The newest CA once it had time to reach every client, else the previous one. */
  private signingCa(now: Date): KeyedCert {
    const newAge = now.getTime() - (this.ca.cert.notBefore.getTime() + BACKDATE_MS);
    if (this.prevCa && this.prevCa.cert.notAfter > now && newAge < this.opts.caPropagationMs) return this.prevCa;
    return this.ca;
  }

  private remainingDays(cert: x509.X509Certificate, now: Date): number {
    return (cert.notAfter.getTime() - now.getTime()) / DAY_MS;
  }

  private coversHosts(cert: x509.X509Certificate): boolean {
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    if (!san) return false;
    const have = new Set(san.names.items.map((n) => n.value));
    return this.opts.hosts.every((h) => have.has(h));
  }

  private async createCa(now: Date): Promise<KeyedCert> {
    const keys = (await crypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.createSelfSigned(
      {
        serialNumber: Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1'),
        // Unique per CA: clients pick the issuer by name, and two CAs may coexist in the bundle.
        name: `CN=kubetee-webhook-ca-${now.toISOString().slice(0, 19).replace(/[-:]/g, '')}-${Buffer.from(crypto.getRandomValues(new Uint8Array(4))).toString('hex')}`,
        notBefore: new Date(now.getTime() - BACKDATE_MS),
        notAfter: new Date(now.getTime() + this.opts.caValidityDays * DAY_MS),
        keys,
        signingAlgorithm: ALG,
        extensions: [
          new x509.BasicConstraintsExtension(true, 0, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        ],
      },
      crypto,
    );
    return { cert, key: keys.privateKey, certPem: cert.toString('pem') + '\n', keyPem: toPem(await crypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY') };
  }

  private async createLeaf(ca: KeyedCert, now: Date): Promise<KeyedCert> {
    const keys = (await crypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
    const notAfter = Math.min(now.getTime() + this.opts.certValidityDays * DAY_MS, ca.cert.notAfter.getTime());
    const cert = await x509.X509CertificateGenerator.create(
      {
        serialNumber: Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1'),
        subject: 'CN=kubetee-webhook',
        issuer: ca.cert.subject,
        notBefore: new Date(now.getTime() - BACKDATE_MS),
        notAfter: new Date(notAfter),
        publicKey: keys.publicKey,
        signingKey: ca.key,
        signingAlgorithm: ALG,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
          new x509.SubjectAlternativeNameExtension(this.opts.hosts.map((h) => (isIP(h) ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h })), false),
          await x509.AuthorityKeyIdentifierExtension.create(ca.cert, false, crypto),
        ],
      },
      crypto,
    );
    return { cert, key: keys.privateKey, certPem: cert.toString('pem') + '\n', keyPem: toPem(await crypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY') };
  }

  private path(name: string): string {
    return join(this.opts.dir, name);
  }

  private async readPair(certFile: string, keyFile: string): Promise<KeyedCert | undefined> {
    const cp = this.path(certFile);
    const kp = this.path(keyFile);
    if (!existsSync(cp) || !existsSync(kp)) return undefined;
    try {
      const certPem = readFileSync(cp, 'utf8');
      const keyPem = readFileSync(kp, 'utf8');
      const cert = new x509.X509Certificate(certPem);
      const key = await crypto.subtle.importKey('pkcs8', fromPem(keyPem), ALG, true, ['sign']);
      return { cert, key, certPem, keyPem };
    } catch (err) {
      throw new WebhookError('TLS_MATERIAL_INVALID', `${cp} / ${kp} cannot be read as an ECDSA P-256 certificate and key: ${(err as Error).message}`, {
        cause: err,
        hint: `delete the files in ${this.opts.dir} to let kubetee create a new CA (the new caBundle is published again)`,
      });
    }
  }

  private async load(): Promise<void> {
    const ca = await this.readPair('ca.crt', 'ca.key');
    if (ca) this.ca = ca;
    this.prevCa = await this.readPair('ca-prev.crt', 'ca-prev.key');
    const leaf = await this.readPair('tls.crt', 'tls.key');
    if (leaf) this.leaf = leaf;
  }

  private save(): void {
    try {
      writeAtomic(this.path('ca.key'), this.ca.keyPem, 0o600);
      writeAtomic(this.path('ca.crt'), this.ca.certPem, 0o644);
      if (this.prevCa) {
        writeAtomic(this.path('ca-prev.key'), this.prevCa.keyPem, 0o600);
        writeAtomic(this.path('ca-prev.crt'), this.prevCa.certPem, 0o644);
      } else {
        rmSync(this.path('ca-prev.key'), { force: true });
        rmSync(this.path('ca-prev.crt'), { force: true });
      }
      if (this.leaf) {
        writeAtomic(this.path('tls.key'), this.leaf.keyPem, 0o600);
        writeAtomic(this.path('tls.crt'), this.leaf.certPem, 0o644);
      }
      writeAtomic(this.path('ca-bundle.crt'), this.caBundlePem(), 0o644);
    } catch (err) {
      throw new WebhookError('CA_DIR_UNUSABLE', `cannot write to the CA directory ${this.opts.dir}: ${(err as Error).message}`, { cause: err, hint: 'check permissions and free space of --ca-dir' });
    }
  }
}
