import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MIB, QuantityError, ceilInteger, floorInteger, formatBinaryBytes, isInteger, parseQuantity, parseWholeQuantity, tryParseQuantity } from '../../src/common/quantity.js';
import { parseByteQuantity } from '../../src/node/epc-limits.js';
import { allocatableEpcMiB, runChecks } from '../../src/deploy/doctor/checks.js';
import { resolveValues } from '../../src/deploy/values.js';

test('quantities parse exactly (binary, decimal, exponent, fractions)', () => {
  const cases: [unknown, bigint, bigint][] = [
    ['64Mi', 64n * 1024n * 1024n, 1n],
    ['1Gi', 1n << 30n, 1n],
    ['67108864', 67108864n, 1n],
    [67108864, 67108864n, 1n],
    ['1k', 1000n, 1n],
    ['1M', 1000000n, 1n],
    ['1e3', 1000n, 1n],
    ['1E3', 1000n, 1n],
    ['1E', 10n ** 18n, 1n],
    ['1.5Ki', 1536n, 1n],
    ['1.5', 3n, 2n],
    ['.5', 1n, 2n],
    ['5.', 5n, 1n],
    ['+7', 7n, 1n],
    ['500m', 1n, 2n],
    ['250u', 1n, 4000n],
    ['0', 0n, 1n],
  ];
  for (const [text, num, den] of cases) assert.deepEqual(tryParseQuantity(text), { num, den }, String(text));
  assert.equal(isInteger(tryParseQuantity('1.5')!), false);
  assert.equal(ceilInteger({ num: 3n, den: 2n }), 2n);
  assert.equal(floorInteger({ num: 3n, den: 2n }), 1n);
  assert.equal(formatBinaryBytes(64n << 20n), '64Mi');
  assert.equal(formatBinaryBytes(1500000n), '1500000');
  assert.equal(formatBinaryBytes(3n << 30n), '3Gi');
});

test('what is not a Kubernetes quantity is refused by every entry point, with a typed error naming where it came from', () => {
  // "1K": upper-case K is not a Kubernetes suffix (the node agent's old parser accepted it).
  for (const bad of ['1K', 'lots', '', '.', '+', '-1', '1Xi', '1..2', ' ', '1e', '1e1234', '0x10', 'Infinity', null, undefined, {}, [], true, -5, Number.NaN, Number.POSITIVE_INFINITY, '1'.repeat(100)]) {
    assert.equal(tryParseQuantity(bad), undefined, JSON.stringify(bad));
    assert.throws(
      () => parseQuantity(bad, 'limits["sgx.intel.com/epc"]'),
      (err: unknown) => err instanceof QuantityError && err.code === 'QUANTITY_INVALID' && err.message.startsWith('limits["sgx.intel.com/epc"] = ') && /is not a Kubernetes quantity/.test(err.message) && /64Mi/.test(err.hint ?? ''),
      JSON.stringify(bad),
    );
  }
});

test('whole quantities: fractions and values beyond int64 get their own codes; units scale exactly', () => {
  assert.equal(parseWholeQuantity('64Mi'), 64n * MIB);
  assert.equal(parseWholeQuantity('1.5Gi'), 3n << 29n, 'a fractional number with a binary suffix can still be whole');
  assert.equal(parseWholeQuantity('64', 'x', MIB), 64n * MIB);
  assert.throws(() => parseWholeQuantity('0.5', 'epc'), (e: unknown) => e instanceof QuantityError && e.code === 'QUANTITY_NOT_WHOLE' && /^epc = "0.5" is not a whole number/.test(e.message));
  assert.throws(() => parseWholeQuantity('500m'), (e: unknown) => e instanceof QuantityError && e.code === 'QUANTITY_NOT_WHOLE');
  assert.throws(() => parseWholeQuantity('9Ei'), (e: unknown) => e instanceof QuantityError && e.code === 'QUANTITY_TOO_LARGE');
  assert.throws(() => parseWholeQuantity('8Ei', 'x', MIB), (e: unknown) => e instanceof QuantityError && e.code === 'QUANTITY_TOO_LARGE');
});

test('the node agent, doctor and install values all use the shared grammar', () => {
  // Node agent (EPC cgroup limits): "1K" is no longer a kilobyte, "1.5Gi" is a whole byte count.
  assert.equal(parseByteQuantity('1K'), null);
  assert.equal(parseByteQuantity('1k'), 1000);
  assert.equal(parseByteQuantity('1.5Gi'), 3 * 2 ** 29);
  assert.equal(parseByteQuantity('1e3'), 1000);
  assert.equal(parseByteQuantity('8Ei'), null, 'beyond a safe integer');
  // Doctor: allocatable EPC under either name; garbage is a reported problem, never a silent 0.
  const node = (alloc: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' }, status: { allocatable: alloc } });
  assert.deepEqual(allocatableEpcMiB(node({ 'sgx.intel.com/epc': '1.5Gi' })), { mib: 1536n });
  assert.deepEqual(allocatableEpcMiB(node({ 'sgx.intel.com/epc': '1e9' })), { mib: 953n });
  assert.deepEqual(allocatableEpcMiB(node({ 'alibabacloud.com/sgx_epc_MiB': '93' })), { mib: 93n });
  const garbage = allocatableEpcMiB(node({ 'alibabacloud.com/sgx_epc_MiB': '93K' }));
  assert.equal(garbage.mib, 0n);
  assert.match(garbage.problem ?? '', /allocatable\["alibabacloud\.com\/sgx_epc_MiB"\] = "93K" is not a Kubernetes quantity/);
  const findings = runChecks({
    namespace: 'kubetee-system',
    namespaceExists: true,
    nodes: [{ ...node({ 'alibabacloud.com/sgx_epc_MiB': 'lots' }), metadata: { name: 'sgx-1', labels: { 'kubetee.io/sgx': 'true' } } }],
    pods: [],
    daemonSets: [],
    deployments: [],
    mutatingWebhooks: [],
    validatingWebhooks: [],
    webhookTlsSecret: undefined,
    runtimeClasses: [],
    trustPolicy: { status: 'missing' },
    webhookProbe: { status: 'skipped', reason: 'test' },
    kbsProbe: { status: 'skipped' },
    now: new Date(),
  });
  assert.match(findings.find((f) => f.code === 'NODE_NO_EPC')?.message ?? '', /unreadable allocatable EPC: .*"lots" is not a Kubernetes quantity/);
  // Install values: the same grammar (".5" is valid Kubernetes, "1K" is not).
  assert.equal(resolveValues({ kbs: { storage: { size: '.5Gi' } } }, 'v').kbs.storage.size, '.5Gi');
  assert.throws(() => resolveValues({ kbs: { storage: { size: '1K' } } }, 'v'), /kbs\.storage\.size: must be a Kubernetes quantity/);
});
