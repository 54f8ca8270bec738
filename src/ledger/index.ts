/** Accounts, balanced postings, verification. */
export {
  ACCOUNTS,
  balanceOf,
  ensureMerchantAccounts,
  ensureSystemAccounts,
  LedgerError,
  post,
  reverseTransactionPostings,
  verifyLedger,
  type LedgerReport,
  type PostingKind,
  type PostingLine,
} from './ledger.js';
