/** Pure SGX decoders: CPUID leaves 7/0x12, the CPUID dump format, /proc/cpuinfo flags, EPC-to-NUMA mapping. */
export * from './cpuid.js';
export * from './cpuid-dump.js';
export * from './cpuinfo.js';
export * from './epc-numa.js';
export * from './errors.js';
export * from './cpuid-encode.js';
