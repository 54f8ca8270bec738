/** Merchants, terminals and operators: their records and rules. */
export * from './merchants.js';
