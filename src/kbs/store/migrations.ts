import { createHash } from 'node:crypto';

/**
 * Numbered schema migrations, one entry per version, SQL per dialect. Kept in
 * TypeScript (not .sql files) so the compiled package carries them. Never edit
 * an applied migration: the runner stores each one's checksum and refuses to
 * start when the recorded checksum differs (MIGRATION_CHECKSUM_MISMATCH).
 */
export interface Migration {
  version: number;
  name: string;
  sqlite: string[];
  postgres: string[];
}

const secretsTables = (blob: string, bigint: string): string[] => [
  `CREATE TABLE secrets (
     path TEXT PRIMARY KEY,
     kind TEXT NOT NULL CHECK (kind IN ('secret', 'key')),
     description TEXT NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     current_version INTEGER NOT NULL
   )`,
  `CREATE TABLE secret_versions (
     path TEXT NOT NULL REFERENCES secrets(path) ON DELETE CASCADE,
     version INTEGER NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('enabled', 'disabled', 'destroyed')),
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     expires_at TEXT,
     value_bytes INTEGER NOT NULL,
     key_id TEXT,
     wrapped_key ${blob},
     ciphertext ${blob},
     PRIMARY KEY (path, version),
     CHECK ((state = 'destroyed') = (ciphertext IS NULL))
   )`,
  `CREATE INDEX secret_versions_key_id ON secret_versions (key_id)`,
  `CREATE TABLE audit_log (
     seq ${bigint} PRIMARY KEY,
     at TEXT NOT NULL,
     actor TEXT NOT NULL,
     action TEXT NOT NULL,
     resource TEXT NOT NULL,
     outcome TEXT NOT NULL,
     reason TEXT NOT NULL,
     claims TEXT,
     prev_hash TEXT NOT NULL,
     hash TEXT NOT NULL
   )`,
  `CREATE TABLE admin_tokens (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     role TEXT NOT NULL CHECK (role IN ('admin', 'writer', 'auditor')),
     token_hash TEXT NOT NULL UNIQUE,
     created_at TEXT NOT NULL,
     created_by TEXT NOT NULL,
     expires_at TEXT,
     revoked_at TEXT
   )`,
  `CREATE TABLE policies (
     path TEXT PRIMARY KEY,
     document TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     updated_by TEXT NOT NULL
   )`,
];

/*
 * Version 2: the protocol state every replica must share. Sessions are
 * ephemeral (5 minutes): on PostgreSQL the table is UNLOGGED (no WAL, so a
 * commit does not wait for a flush; after a server crash it is empty and
 * clients start over with /auth). Session ids are stored as SHA-256 only.
 * The attestation-token signing keys are envelope-encrypted like secret
 * values; at most one is current (retired_at IS NULL).
 */
const protocolTables = (blob: string, bigint: string, unlogged: string): string[] => [
  `CREATE ${unlogged}TABLE protocol_sessions (
     id_hash TEXT PRIMARY KEY,
     tee TEXT NOT NULL,
     nonce TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('challenged', 'attesting', 'attested', 'burned')),
     expires_at_ms ${bigint} NOT NULL,
     attested TEXT
   )`,
  `CREATE INDEX protocol_sessions_expires ON protocol_sessions (expires_at_ms)`,
  `CREATE TABLE token_signing_keys (
     kid TEXT PRIMARY KEY,
     created_at TEXT NOT NULL,
     retired_at TEXT,
     key_id TEXT NOT NULL,
     wrapped_key ${blob} NOT NULL,
     ciphertext ${blob} NOT NULL
   )`,
  `CREATE UNIQUE INDEX token_signing_keys_one_current ON token_signing_keys ((retired_at IS NULL)) WHERE retired_at IS NULL`,
];

/*
 * Version 3: a MAC column on the rows that grant access (src/kbs/crypto/row-mac.ts).
 * Rows that exist when it is applied are MAC'd in the same transaction by the
 * caller that holds the master key (openKbsData); without one the migration
 * refuses to run on a database that has such rows (see ROW_MAC_MIGRATION).
 */
const rowMacColumns = (): string[] => ['ALTER TABLE policies ADD COLUMN mac TEXT', 'ALTER TABLE admin_tokens ADD COLUMN mac TEXT'];

/** The migration that adds row MACs; existing rows are MAC'd in its transaction. */
export const ROW_MAC_MIGRATION = 3;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'secrets, versions, audit log, admin tokens, policies',
    sqlite: secretsTables('BLOB', 'INTEGER'),
    postgres: secretsTables('BYTEA', 'BIGINT'),
  },
  {
    version: 2,
    name: 'protocol sessions, attestation-token signing keys',
    sqlite: protocolTables('BLOB', 'INTEGER', ''),
    postgres: protocolTables('BYTEA', 'BIGINT', 'UNLOGGED '),
  },
  {
    version: 3,
    name: 'MACs on policy and admin token rows',
    sqlite: rowMacColumns(),
    postgres: rowMacColumns(),
  },
];

export function migrationChecksum(m: Migration, dialect: 'sqlite' | 'postgres'): string {
  return createHash('sha256').update(m[dialect].join(';\n')).digest('hex');
}
