import { createCipheriv, createHash, diffieHellman, generateKeyPairSync, publicEncrypt, constants, randomBytes as nodeRandomBytes } from 'node:crypto';
import { toKeyObject, type TeePubKey } from './tee-key.js';

/** JWE flattened JSON serialisation as Trustee emits it (no `aad` member). */
export interface FlattenedJwe {
  protected: string;
  encrypted_key: string;
  iv: string;
  ciphertext: string;
  tag: string;
}

export type RandomBytes = (n: number) => Uint8Array;

const CEK_BYTES = 32;
const IV_BYTES = 12;
// RFC 3394 default initial value.
const AES_KW_IV = Buffer.alloc(8, 0xa6);

/**
 * Encrypts `plaintext` to the TEE's key the way Trustee does (docs/key-broker.md,
 * "The JWE reply"): A256GCM content encryption, CEK wrapped with
 * ECDH-ES+A256KW (EC) or RSA-OAEP-256 (RSA).
 *
 * The protected header is written by hand, byte for byte: the Trustee guest
 * client re-serialises the header it decoded (alg, enc, then the rest) to
 * compute the GCM AAD, so only this exact order decrypts there. Generic JOSE
 * libraries order `epk` members differently.
 */
export function encryptToTee(teeKey: TeePubKey, plaintext: Uint8Array, randomBytes: RandomBytes = nodeRandomBytes): FlattenedJwe {
  const recipient = toKeyObject(teeKey);
  const cek = Buffer.from(randomBytes(CEK_BYTES));
  let header: string;
  let encryptedKey: Buffer;
  if (teeKey.kty === 'EC') {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: teeKey.crv === 'P-256' ? 'prime256v1' : 'secp521r1' });
    const epk = publicKey.export({ format: 'jwk' });
    const shared = diffieHellman({ privateKey, publicKey: recipient });
    const kek = concatKdfSha256(shared, 'ECDH-ES+A256KW', 256);
    const wrap = createCipheriv('id-aes256-wrap', kek, AES_KW_IV);
    encryptedKey = Buffer.concat([wrap.update(cek), wrap.final()]);
    header = `{"alg":"ECDH-ES+A256KW","enc":"A256GCM","epk":{"crv":${JSON.stringify(epk.crv)},"kty":"EC","x":${JSON.stringify(epk.x)},"y":${JSON.stringify(epk.y)}}}`;
  } else {
    encryptedKey = publicEncrypt({ key: recipient, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cek);
    header = '{"alg":"RSA-OAEP-256","enc":"A256GCM"}';
  }
  const protectedB64 = Buffer.from(header, 'utf8').toString('base64url');
  const iv = Buffer.from(randomBytes(IV_BYTES));
  const gcm = createCipheriv('aes-256-gcm', cek, iv);
  // RFC 7516 §5.1 step 14: AAD is the ASCII of the encoded protected header.
  gcm.setAAD(Buffer.from(protectedB64, 'ascii'));
  const ciphertext = Buffer.concat([gcm.update(plaintext), gcm.final()]);
  const tag = gcm.getAuthTag();
  cek.fill(0);
  return {
    protected: protectedB64,
    encrypted_key: encryptedKey.toString('base64url'),
    iv: iv.toString('base64url'),
    ciphertext: ciphertext.toString('base64url'),
    tag: tag.toString('base64url'),
  };
}

/**
 * NIST SP 800-56A Concat KDF with SHA-256 as profiled by RFC 7518 §4.6.2:
 * AlgorithmID = len||alg, empty PartyUInfo and PartyVInfo, SuppPubInfo =
 * keydatalen in bits. One round suffices for a 256-bit key.
 */
export function concatKdfSha256(sharedSecret: Uint8Array, algorithmId: string, keyBits: number): Buffer {
  const alg = Buffer.from(algorithmId, 'ascii');
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const rounds = Math.ceil(keyBits / 256);
  const out: Buffer[] = [];
  for (let i = 1; i <= rounds; i++) {
    out.push(
      createHash('sha256')
        .update(u32(i))
        .update(sharedSecret)
        .update(u32(alg.length))
        .update(alg)
        .update(u32(0))
        .update(u32(0))
        .update(u32(keyBits))
        .digest(),
    );
  }
  return Buffer.concat(out).subarray(0, keyBits / 8);
}
