import type { Migration } from 'kysely';
import { cup } from '../../iso8583/index.js';

const PAGE = 500;

/**
 * Stored financial responses echoed the request's field 2, so a keyed, chip or contactless
 * transaction, a void or a completion kept its PAN in clear (packed BCD in base64) beside the
 * encrypted form. Responses are now stored without field 2 (host/reply.ts); this takes it out of
 * the rows stored before. Only rows with a card can hold a PAN; they are rewritten a page at a time.
 */
export const noPanInStoredResponses: Migration = {
  up: async (db) => {
    let after = '';
    for (;;) {
      const rows: { id: string; response: string }[] = await db
        .selectFrom('transactions')
        .select(['id', 'response'])
        .where('pan_hash', 'is not', null)
        .where('id', '>', after)
        .orderBy('id')
        .limit(PAGE)
        .execute();
      if (rows.length === 0) return;
      for (const row of rows) {
        const cleaned = withoutPan(row.response);
        if (cleaned !== undefined) await db.updateTable('transactions').set({ response: cleaned }).where('id', '=', row.id).execute();
      }
      after = rows[rows.length - 1]!.id;
    }
  },
  // no down: the PANs are gone, as they should be
};

/** The stored response without field 2, or undefined when it holds none. */
function withoutPan(stored: string): string | undefined {
  if (stored.startsWith('{')) {
    const fields = JSON.parse(stored) as Record<string, unknown>;
    if (!('2' in fields)) return undefined;
    delete fields['2'];
    return JSON.stringify(fields);
  }
  const message = cup.unpack(Buffer.from(stored, 'base64'));
  if (message.get(2) === undefined) return undefined;
  message.delete(2);
  return cup.pack(message).toString('base64');
}
