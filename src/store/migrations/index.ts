import type { Migration, MigrationProvider } from 'kysely';
import type { Engine } from '../engine.js';
import { initialSchema } from './0001_initial.js';
import { systemKeys } from './0002_system_keys.js';
import { tombstonesInTransactions } from './0003_tombstones_in_transactions.js';
import { partialQpsIndex } from './0004_partial_qps_index.js';
import { cardCvk } from './0005_card_cvk.js';
import { cardImkAc } from './0006_card_imk_ac.js';
import { cardLastAtc } from './0007_card_last_atc.js';
import { hostLeases } from './0008_host_leases.js';
import { noLineAccountIndex } from './0009_no_line_account_index.js';
import { cardHoldsByCard } from './0010_card_holds_by_card.js';
import { uploadItemsOnce } from './0011_upload_items_once.js';
import { noPanInStoredResponses } from './0012_no_pan_in_stored_responses.js';
import { qpsVersionOffered } from './0013_qps_version_offered.js';
import { operatorLockouts } from './0014_operator_lockouts.js';

/** Plain ordered migrations, one set for both engines; applied on start. */
export function migrationProvider(engine: Engine): MigrationProvider {
  const migrations: Record<string, Migration> = {
    '0001_initial': initialSchema(engine),
    '0002_system_keys': systemKeys,
    '0003_tombstones_in_transactions': tombstonesInTransactions,
    '0004_partial_qps_index': partialQpsIndex,
    '0005_card_cvk': cardCvk,
    '0006_card_imk_ac': cardImkAc,
    '0007_card_last_atc': cardLastAtc,
    '0008_host_leases': hostLeases,
    '0009_no_line_account_index': noLineAccountIndex,
    '0010_card_holds_by_card': cardHoldsByCard,
    '0011_upload_items_once': uploadItemsOnce,
    '0012_no_pan_in_stored_responses': noPanInStoredResponses,
    '0013_qps_version_offered': qpsVersionOffered,
    '0014_operator_lockouts': operatorLockouts,
  };
  return { getMigrations: async () => migrations };
}
