/** Host settings (protocol appendix); every one has the documented default. */
export interface HostConfig {
  readonly acquirerId: string;
  readonly frameBytesMax: number;
  readonly frameCompleteMsMax: number;
  readonly connectionIdleMsMax: number;
  readonly connectionQueuedMax: number;
  readonly connectionsMax: number;
  /** 8: single-length MAK in a 16-byte slot (the UnionPay default); 16: double-length */
  readonly macKeyLength: 8 | 16;
  readonly refundOverLimitCode: '61' | '13';
  readonly preauthValidDays: number;
  readonly preauthCompletionTolerancePct: number;
  readonly operatorTriesMax: number;
  /** the first lock's length; each lock in a row lasts twice the one before, up to operatorLockMinutesMax; 0 locks until unlocked */
  readonly operatorLockMinutes: number;
  readonly operatorLockMinutesMax: number;
  readonly operatorGrantSeconds: number;
  readonly activationRequireTls: boolean;
  readonly activationTriesMax: number;
  /** settlement date rolls at this China Standard Time hour */
  readonly settlementCutoverHour: number;
  /** one character of the RRN that tells host processes apart */
  readonly nodeId: string;
}

export const DEFAULT_HOST_CONFIG: HostConfig = {
  acquirerId: '99990000',
  frameBytesMax: 4096,
  frameCompleteMsMax: 30_000,
  connectionIdleMsMax: 180_000,
  connectionQueuedMax: 4,
  connectionsMax: 20_000,
  macKeyLength: 8,
  refundOverLimitCode: '61',
  preauthValidDays: 30,
  preauthCompletionTolerancePct: 15,
  operatorTriesMax: 5,
  operatorLockMinutes: 30,
  operatorLockMinutesMax: 24 * 60,
  operatorGrantSeconds: 120,
  activationRequireTls: true,
  activationTriesMax: 5,
  settlementCutoverHour: 23,
  nodeId: '0',
};
