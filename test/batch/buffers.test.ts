import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { columnValues, isNullAt } from '../../src/batch/buffers.js';

describe('chunk column access', () => {
  it('reads the same values and nulls as the binding, with and without a validity mask', async () => {
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    try {
      const result = await conn.run(
        `SELECT CAST(i AS DOUBLE) * 0.5 AS d, CAST(i AS INTEGER) AS n, CAST(i AS BIGINT) * 3 AS b,
           CASE WHEN i % 7 = 3 THEN 'bad ' || i END AS reason, 'x' AS always
         FROM range(5000) t(i)`,
      );
      let rows = 0;
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        for (let c = 0; c < 3; c++) {
          const v = chunk.getColumnVector(c);
          const fast = columnValues(v);
          expect(ArrayBuffer.isView(fast)).toBe(true); // the fast path, not the getItem fallback
          for (let r = 0; r < chunk.rowCount; r++) expect(fast[r]).toBe(v.getItem(r));
        }
        for (const c of [3, 4]) {
          const v = chunk.getColumnVector(c);
          const isNull = isNullAt(v);
          for (let r = 0; r < chunk.rowCount; r++) expect(isNull(r)).toBe(v.getItem(r) === null);
        }
        rows += chunk.rowCount;
      }
      expect(rows).toBe(5000);
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  });
});
