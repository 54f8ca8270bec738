/** The tamper-evident audit log of security events. */
export { appendAudit, verifyAuditChain, type AuditChainReport, type AuditEvent } from './audit-log.js';
