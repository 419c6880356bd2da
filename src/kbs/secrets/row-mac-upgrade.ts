import type { KbsTx } from '../store/types.js';
import { appendAudit } from '../audit/append.js';
import type { RowMac } from '../crypto/row-mac.js';

/**
 * The one-time upgrade to authenticated rows: MACs every policy and admin
 * token row that has no MAC yet, with one audit record saying how many. Runs
 * only inside the transaction that applies the row-MAC migration
 * (openKbsData's migration hook), so the column and the MACs commit together;
 * afterwards a row without a MAC is refused (KBS_ROW_TAMPERED), never
 * upgraded silently.
 */
export async function macLegacyRows(tx: KbsTx, rowMac: RowMac, now: Date): Promise<{ policies: number; tokens: number }> {
  let policies = 0;
  let tokens = 0;
  for (const p of await tx.listPolicies()) {
    if (p.mac) continue;
    await tx.setPolicyMac(p.path, rowMac.policy(p));
    policies++;
  }
  for (const t of await tx.listTokens()) {
    if (t.mac) continue;
    await tx.setTokenMac(t.id, rowMac.token(t));
    tokens++;
  }
  await appendAudit(
    tx,
    {
      actor: 'system',
      action: 'row-mac.upgrade',
      resource: '',
      outcome: 'success',
      reason: `schema upgrade: MAC'd ${policies} policy row(s) and ${tokens} admin token row(s) under master key ${rowMac.activeKeyId}`,
    },
    now,
  );
  return { policies, tokens };
}

/**
 * Re-MACs policy and token rows not under the active master key (part of
 * `kbs master-key rewrap`). Each row is verified first: a row that does not
 * verify is left as it is (still refused) and named in `tampered`, never
 * laundered under the new key.
 */
export async function remacRows(tx: KbsTx, rowMac: RowMac): Promise<{ policies: number; tokens: number; tampered: string[] }> {
  let policies = 0;
  let tokens = 0;
  const tampered: string[] = [];
  for (const p of await tx.listPolicies()) {
    if (rowMac.isCurrent(p.mac)) continue;
    try {
      rowMac.verifyPolicy(p);
    } catch {
      tampered.push(`policy:${p.path}`);
      continue;
    }
    await tx.setPolicyMac(p.path, rowMac.policy(p));
    policies++;
  }
  for (const t of await tx.listTokens()) {
    if (rowMac.isCurrent(t.mac)) continue;
    try {
      rowMac.verifyToken(t);
    } catch {
      tampered.push(`token:${t.id}`);
      continue;
    }
    await tx.setTokenMac(t.id, rowMac.token(t));
    tokens++;
  }
  return { policies, tokens, tampered };
}
