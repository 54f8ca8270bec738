/** The tamper-evident audit log of security events. */
export { AuditLog, verifyAuditChain, type AuditChainReport, type AuditEvent, type AuditSealer } from './audit-log.js';
