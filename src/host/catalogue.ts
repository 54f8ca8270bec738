/**
 * The message catalogue of protocol §5.1: which (MTI, processing code, 60.1, 60.3) combinations
 * exist, whether they carry a MAC and what they are. Anything not here is answered 40.
 */
export type MessageKind =
  | 'sign_in'
  | 'sign_out'
  | 'echo'
  | 'qps_download'
  | 'qps_download_end'
  | 'balance'
  | 'sale'
  | 'sale_void'
  | 'refund'
  | 'preauth'
  | 'preauth_void'
  | 'completion'
  | 'completion_void'
  | 'reversal'
  | 'settlement'
  | 'upload_detail'
  | 'upload_end'
  | 'upload_other'
  | 'activation'
  | 'operator_verify'
  | 'operator_password';

export interface CatalogueEntry {
  readonly kind: MessageKind;
  readonly macBearing: boolean;
  /** financial requests with an amount that moves money, checked for duplicates at §7 step 9 */
  readonly financial: boolean;
  /** the types a 0400 may reverse */
  readonly reversible: boolean;
  /** needs the supervisor grant (§10.2) when the terminal's supervisor_check is `host` */
  readonly supervisor: boolean;
}

const e = (kind: MessageKind, macBearing: boolean, financial = false, reversible = false, supervisor = false): CatalogueEntry => ({ kind, macBearing, financial, reversible, supervisor });

/** Financial messages by MTI | processing code | 60.1 (60.3 must be 000). */
const FINANCIAL: Record<string, CatalogueEntry> = {
  '0200|310000|01': e('balance', true),
  '0200|000000|22': e('sale', true, true, true),
  '0200|200000|23': e('sale_void', true, true, true, true),
  '0220|200000|25': e('refund', true, true, false, true),
  '0100|030000|10': e('preauth', true, true, true),
  '0100|200000|11': e('preauth_void', true, true, true, true),
  '0200|000000|20': e('completion', true, true, true),
  '0200|200000|21': e('completion_void', true, true, true, true),
};

/** Management messages by MTI | 60.3. */
const MANAGEMENT: Record<string, CatalogueEntry> = {
  '0800|003': e('sign_in', false),
  '0800|004': e('sign_in', false),
  '0820|002': e('sign_out', false),
  '0820|301': e('echo', false),
  '0800|394': e('qps_download', false),
  '0800|395': e('qps_download_end', false),
  '0500|201': e('settlement', false),
  '0320|201': e('upload_detail', false),
  '0320|202': e('upload_end', false),
  '0320|207': e('upload_end', false),
  '0320|000': e('upload_other', false),
  '0320|203': e('upload_other', false),
  '0320|204': e('upload_other', false),
  '0800|901': e('activation', false),
  '0820|902': e('operator_verify', true),
  '0820|903': e('operator_password', true),
};

export const REVERSAL: CatalogueEntry = e('reversal', true);

export function lookupFinancial(mti: string, processingCode: string | undefined, type: string | undefined): CatalogueEntry | undefined {
  if (processingCode === undefined || type === undefined) return undefined;
  return FINANCIAL[`${mti}|${processingCode}|${type}`];
}

/** The kind of financial message a transaction type (60.1) is: `22` → sale. */
const KIND_OF_TYPE: ReadonlyMap<string, MessageKind> = new Map(Object.entries(FINANCIAL).map(([key, entry]) => [key.split('|')[2]!, entry.kind]));

export function kindOfType(type: string): MessageKind | undefined {
  return KIND_OF_TYPE.get(type);
}

export function lookupManagement(mti: string, networkCode: string | undefined): CatalogueEntry | undefined {
  if (networkCode === undefined) return undefined;
  return MANAGEMENT[`${mti}|${networkCode}`];
}

/** The original a financial request refers to, for the 61-carrying types. */
export function isFinancialMti(mti: string): boolean {
  return mti === '0100' || mti === '0200' || mti === '0220';
}

/** Response codes the host sends (protocol §11). */
export const RC = {
  approved: '00',
  invalidMerchant: '03',
  doNotHonour: '05',
  invalidTransaction: '12',
  invalidAmount: '13',
  invalidCard: '14',
  originalNotFound: '25',
  formatError: '30',
  notSupported: '40',
  lostCard: '41',
  stolenCard: '43',
  insufficientFunds: '51',
  expiredCard: '54',
  wrongPin: '55',
  suspectedFraud: '59',
  exceedsLimit: '61',
  securityViolation: '63',
  originalAmountIncorrect: '64',
  pinTriesExceeded: '75',
  signInAgain: '77',
  duplicate: '94',
  systemMalfunction: '96',
  terminalNotRegistered: '97',
  pinFormatError: '99',
  macFailed: 'A0',
} as const;
