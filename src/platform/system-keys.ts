import type { Hsm, KeyBlock, KeySpec } from '../hsm/index.js';
import type { Store } from '../store/index.js';

/** Host-wide keys, generated inside the HSM on first start and kept as key blocks in the store. */
export async function systemKey(store: Store, hsm: Hsm, name: string, spec: KeySpec): Promise<KeyBlock> {
  const existing = await store.db.selectFrom('system_keys').select('key_block').where('name', '=', name).executeTakeFirst();
  if (existing) {
    hsm.describeKey(existing.key_block as KeyBlock); // fails loudly when the LMK is not the one the key was made under
    return existing.key_block as KeyBlock;
  }
  const made = await hsm.generateKey(spec);
  await store.transact((trx) =>
    trx.insertInto('system_keys').values({ name, key_block: made.key, kcv: made.kcv, created_at: Date.now() }).onConflict((oc) => oc.column('name').doNothing()).execute(),
  );
  const stored = await store.db.selectFrom('system_keys').select('key_block').where('name', '=', name).executeTakeFirstOrThrow();
  return stored.key_block as KeyBlock;
}
