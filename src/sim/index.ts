/**
 * Simulated Intel SGX platform: PKI, Quoting Enclave, PCS collateral and a
 * PCS v4 HTTP server, for development (`kubetee up`) and negative tests.
 * Its root is never trusted by default — see docs/simulated-platform.md.
 *
 * @example
 * import { SimulatedPlatform } from 'kubetee/sim';
 * const p = await SimulatedPlatform.create();
 * const quote = p.quote({ reportData });
 * const collateral = p.collateral();
 * // verifier: new QuoteVerifier({ trustedRootCaDer: [p.rootCaDer] })
 */
export { SimulatedPlatform } from './platform.js';
export { QUOTE_TAMPERS, COLLATERAL_TAMPERS } from './faults.js';
export { SIM_QE_MRSIGNER, SIM_QE_MRENCLAVE } from './quoting-enclave.js';
export { SimError, type SimErrorCode } from './errors.js';
export { PCS_PATHS } from './pcs-server.js';
export { INTEL_QE_VENDOR_ID, qeReportDataFor } from './quote.js';
export { SGX_EXTENSION_OID } from './names.js';
export { BASE_TCB_EVALUATION_DATA_NUMBER, recoveryAdvisoryId, type TcbLevel, type TcbStatus } from './tcb-levels.js';
export type {
  QuoteCollateralV3Json,
  SimCollateralOptions,
  SimCollateralTamper,
  SimPckCa,
  SimPcsServer,
  SimPlatformOptions,
  SimPlatformState,
  SimQuoteOptions,
  SimQuoteTamper,
  SimServeOptions,
  SimTcb,
  SimTcbLevelSpec,
  SimTdQuoteOptions,
  SimTdxModuleIdentity,
} from './types.js';
