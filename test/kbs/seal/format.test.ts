import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sealStream, unsealStream } from '../../../src/kbs/seal/stream.js';
import { sealFile, unsealFile, readSealHeader } from '../../../src/kbs/seal/file.js';
import { SealError } from '../../../src/kbs/seal/errors.js';
import { TAG_BYTES } from '../../../src/kbs/seal/format.js';

const KEY = randomBytes(32);
const LOG2 = 12; // 4 KiB chunks keep the tests small
const CHUNK = 2 ** LOG2;

async function collect(gen: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of gen) parts.push(b);
  return Buffer.concat(parts);
}

async function* pieces(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
  if (buf.length === 0) return;
}

const seal = (plain: Buffer, pieceSize = 1000): Promise<Buffer> => collect(sealStream(pieces(plain, pieceSize), KEY, { resourcePath: 'models/key/llama', chunkLog2: LOG2 }));
const unseal = (sealed: Buffer, key: Uint8Array = KEY, pieceSize = 777): Promise<Buffer> => collect(unsealStream(pieces(sealed, pieceSize), { resolveKey: () => key }));

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof SealError, String(err));
    return err.code;
  }
  return 'no error';
}

test('round trip for sizes around chunk boundaries, whatever the input piece sizes', async () => {
  for (const size of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 17]) {
    const plain = randomBytes(size);
    for (const pieceSize of [1, 1000, CHUNK, 10 * CHUNK]) {
      const sealed = await seal(plain, pieceSize);
      const chunks = Math.max(1, Math.ceil(size / CHUNK));
      const headerLen = 16 + 'models/key/llama'.length + 7 + 32;
      assert.equal(sealed.length, headerLen + size + chunks * TAG_BYTES, `size ${size}`);
      assert.ok((await unseal(sealed, KEY, pieceSize)).equals(plain), `size ${size} piece ${pieceSize}`);
    }
  }
});

test('tampering with any byte of the header or a chunk is detected', async () => {
  const plain = randomBytes(2 * CHUNK + 100);
  const sealed = await seal(plain);
  const headerLen = 16 + 16 + 7 + 32;
  for (const offset of [13, headerLen - 40, headerLen + 5, headerLen + CHUNK + TAG_BYTES + 3, sealed.length - 1]) {
    const bad = Buffer.from(sealed);
    bad[offset]! ^= 0x01;
    const code = await codeOf(unseal(bad));
    assert.ok(['SEAL_CHUNK_TAMPERED', 'SEAL_KEY_MISMATCH', 'SEAL_HEADER_INVALID'].includes(code), `offset ${offset}: ${code}`);
  }
  const flippedMiddle = Buffer.from(sealed);
  flippedMiddle[headerLen + 10]! ^= 0x80;
  assert.equal(await codeOf(unseal(flippedMiddle)), 'SEAL_CHUNK_TAMPERED');
});

test('reordered, dropped and duplicated chunks are detected', async () => {
  const plain = randomBytes(3 * CHUNK + 10);
  const sealed = await seal(plain);
  const h = sealed.length - (3 * (CHUNK + TAG_BYTES) + 10 + TAG_BYTES);
  const rec = (i: number): Buffer => sealed.subarray(h + i * (CHUNK + TAG_BYTES), h + (i + 1) * (CHUNK + TAG_BYTES));
  const last = sealed.subarray(h + 3 * (CHUNK + TAG_BYTES));
  const head = sealed.subarray(0, h);
  assert.equal(await codeOf(unseal(Buffer.concat([head, rec(1), rec(0), rec(2), last]))), 'SEAL_CHUNK_TAMPERED');
  assert.equal(await codeOf(unseal(Buffer.concat([head, rec(0), rec(2), last]))), 'SEAL_CHUNK_TAMPERED');
  assert.equal(await codeOf(unseal(Buffer.concat([head, rec(0), rec(0), rec(1), rec(2), last]))), 'SEAL_CHUNK_TAMPERED');
});

test('truncation anywhere is detected, including exactly at a chunk boundary', async () => {
  const plain = randomBytes(3 * CHUNK);
  const sealed = await seal(plain);
  const h = sealed.length - 3 * (CHUNK + TAG_BYTES);
  assert.equal(await codeOf(unseal(sealed.subarray(0, h + 2 * (CHUNK + TAG_BYTES)))), 'SEAL_TRUNCATED');
  assert.equal(await codeOf(unseal(sealed.subarray(0, h))), 'SEAL_TRUNCATED');
  assert.equal(await codeOf(unseal(sealed.subarray(0, h + 5))), 'SEAL_TRUNCATED');
  assert.equal(await codeOf(unseal(sealed.subarray(0, sealed.length - 1))), 'SEAL_CHUNK_TAMPERED');
  assert.equal(await codeOf(unseal(sealed.subarray(0, 20))), 'SEAL_HEADER_INVALID');
  assert.equal(await codeOf(unseal(Buffer.concat([sealed, Buffer.from('junk')]))), 'SEAL_CHUNK_TAMPERED');
});

test('a wrong key is named as such (key commitment), not as tampering; non-sealed input is refused', async () => {
  const sealed = await seal(randomBytes(100));
  assert.equal(await codeOf(unseal(sealed, randomBytes(32))), 'SEAL_KEY_MISMATCH');
  assert.equal(await codeOf(unseal(Buffer.from('hello, this is not a sealed file at all........................'))), 'SEAL_FORMAT_INVALID');
});

test('files: output appears only when complete; a failed unseal leaves no plaintext behind', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-seal-'));
  try {
    const plain = randomBytes(5 * CHUNK + 3);
    writeFileSync(join(dir, 'in'), plain);
    let progressed = 0;
    const r = await sealFile(join(dir, 'in'), join(dir, 'in.sealed'), KEY, { resourcePath: 'a/b/c', keyVersion: 7, chunkLog2: LOG2, onProgress: (n) => (progressed = n) });
    assert.equal(r.plaintextBytes, plain.length);
    assert.equal(progressed, plain.length);
    assert.equal((await readSealHeader(join(dir, 'in.sealed'))).resourcePath, 'a/b/c');
    assert.equal((await readSealHeader(join(dir, 'in.sealed'))).keyVersion, 7);
    let seenPath = '';
    await unsealFile(join(dir, 'in.sealed'), join(dir, 'out'), { resolveKey: (h) => ((seenPath = h.resourcePath), KEY) });
    assert.equal(seenPath, 'a/b/c');
    assert.ok(readFileSync(join(dir, 'out')).equals(plain));

    const bad = readFileSync(join(dir, 'in.sealed'));
    bad[bad.length - 5]! ^= 1;
    writeFileSync(join(dir, 'bad.sealed'), bad);
    assert.equal(await codeOf(unsealFile(join(dir, 'bad.sealed'), join(dir, 'bad.out'), { resolveKey: () => KEY })), 'SEAL_CHUNK_TAMPERED');
    assert.equal(existsSync(join(dir, 'bad.out')), false);
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.partial')), []);
    assert.equal(await codeOf(sealFile(join(dir, 'missing'), join(dir, 'x'), KEY, { resourcePath: 'a/b/c' })), 'SEAL_IO_FAILED');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
