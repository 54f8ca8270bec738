import type { Hsm } from '../../src/hsm/index.js';
import { issueActivationCode, newActivationCode } from '../../src/merchants/index.js';
import type { Store } from '../../src/store/index.js';

/** A one-time activation code for the terminal, bound to `serial`, as `posgate terminals activation-code` issues it; returns it in clear. */
export async function issueCode(store: Store, hsm: Hsm, terminalId: string, serial: string): Promise<string> {
  const code = await newActivationCode((c) => hsm.hashPassword(c));
  await store.transact((trx) => issueActivationCode(trx, terminalId, code, serial));
  return code.clear;
}
