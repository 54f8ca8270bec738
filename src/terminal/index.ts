/** The software terminal: the terminal side of the posgate protocol, and the PIN pad. */
export { ChipCardSimulator, type TerminalTransactionData } from './chip-card-simulator.js';
export { BATCH_SETTLE_AT, CASHIER, SoftTerminal, type CardPresentation, type EntryMode, type Result, type SaleResult, type Settlement, type TerminalOptions } from './soft-terminal.js';
export { FileStorage, MemoryStorage, type BatchEntry, type PendingReversal, type TerminalState, type TerminalStorage } from './storage.js';
export { Connection, TimeoutError, type Endpoint } from './transport.js';
export { batchDetail, batchSummary, displayWidth, ENTRY_LABELS, formatYuan, receipt, RECEIPT_COLUMNS, receiptOf, settlementSlip, type ReceiptData, type ReceiptHeading, type ReceiptKind } from './receipt.js';
export { describeResponse, RESPONSE_TEXT } from './response-codes.js';
export { TerminalError } from './errors.js';
