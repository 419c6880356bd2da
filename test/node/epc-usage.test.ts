import { test } from 'node:test';
import assert from 'node:assert/strict';
import { epcUsage } from '../../src/node/epc-usage.js';

const MiB = 1024 * 1024;

test('EPC use per NUMA node: capacity from the allocatable devices, allocated from the held IDs', () => {
  const devices = [...Array(4).keys()].map((i) => ({ id: String(i), numaNode: i < 2 ? 0 : 1 }));
  const u = epcUsage(devices, [{ deviceIds: ['0'] }, { deviceIds: ['2', '3'] }]);
  assert.deepEqual(u, {
    capacityBytes: 4 * MiB,
    allocatedBytes: 3 * MiB,
    sections: [
      { numaNode: 0, capacityBytes: 2 * MiB, allocatedBytes: 1 * MiB },
      { numaNode: 1, capacityBytes: 2 * MiB, allocatedBytes: 2 * MiB },
    ],
  });
});

test('an ID named twice counts once; nothing held means nothing allocated', () => {
  const devices = [{ id: 'a', numaNode: 0 }, { id: 'b', numaNode: 0 }];
  assert.equal(epcUsage(devices, [{ deviceIds: ['a'] }, { deviceIds: ['a'] }]).allocatedBytes, MiB);
  assert.deepEqual(epcUsage(devices, []).sections, [{ numaNode: 0, capacityBytes: 2 * MiB, allocatedBytes: 0 }]);
  assert.deepEqual(epcUsage([], []), { capacityBytes: 0, allocatedBytes: 0, sections: [] });
});
