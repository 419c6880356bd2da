import pg from 'pg';
import { defineStoreSuite } from './store-suite.js';
import { startTestPostgres } from '../../helpers/postgres.js';

defineStoreSuite('PostgreSQL', async () => {
  const server = await startTestPostgres();
  if ('skip' in server) return server;
  return {
    newUrl: () => server.createDatabase(),
    async raw(url, sql, params = []) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        let i = 0;
        return (await client.query(sql.replace(/\?/g, () => `$${++i}`), params)).rows as Record<string, unknown>[];
      } finally {
        await client.end();
      }
    },
    cleanup: () => server.stop(),
  };
});
