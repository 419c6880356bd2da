import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { defineStoreSuite } from './store-suite.js';

defineStoreSuite('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-kbs-sqlite-'));
  let n = 0;
  return {
    async newUrl() {
      return `sqlite:${join(dir, `kbs-${++n}.db`)}`;
    },
    async raw(url, sql, params = []) {
      const db = new Database(url.slice('sqlite:'.length));
      try {
        db.pragma('busy_timeout = 5000');
        const st = db.prepare(sql);
        return st.reader ? (st.all(...(params as never[])) as Record<string, unknown>[]) : (st.run(...(params as never[])), []);
      } finally {
        db.close();
      }
    },
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
