import { cup, decodeHeader, decodeTpdu, Iso8583Error, unpackCupFrame, type CupHeader, type Tpdu } from '../iso8583/index.js';
import { terminalByTid, type Merchant, type Terminal } from '../merchants/index.js';
import { lookupFinancial, lookupManagement, RC, REVERSAL, isFinancialMti, type CatalogueEntry } from './catalogue.js';
import { readCardInput, type CardInput } from './card-input.js';
import { localTime } from './clock.js';
import type { Ctx, HostDeps, LinkInfo } from './context.js';
import { encodeResponse } from './encode.js';
import { handleFinancial } from './financial.js';
import { OutcomeInDoubtError } from '../store/index.js';
import { AfterCommitError } from './after-commit.js';
import { handleManagement } from './management.js';
import type { Reply } from './reply.js';
import { echoFields } from './reply.js';
import { Request } from './request.js';
import { handleReversal } from './reversal.js';
import { formatError, unsupportedOption } from './validate.js';

/** What the link does with a frame: write `response`, or close the connection. */
export type FrameOutcome = { readonly response: Buffer; readonly kind: string; readonly rc: string } | { readonly close: string };

/** Header nibble 6 (§1.3): 3 sign in again, else 9 when the terminal holds old QPS parameters, else 0. */
export function processingRequest(terminal: Terminal | undefined, merchant: Merchant | undefined): string {
  if (!terminal) return '0';
  if (terminal.sign_in_required === 1) return '3';
  if (merchant && terminal.qps_version_held < merchant.qps_version) return '9';
  return '0';
}

/**
 * The host rules of protocol §7, steps 1–8, then the handler of the message family. Each step
 * answers with the code the protocol assigns; a reply is MACed only when the request was a
 * MAC-bearing message whose MAC verified (§5.3).
 */
export async function handleFrame(deps: HostDeps, raw: Buffer, link: LinkInfo): Promise<FrameOutcome> {
  const now = Date.now();
  // Step 1: decode. A request we can read MTI, STAN and terminal ID of gets 30; anything else closes.
  let frame;
  try {
    frame = unpackCupFrame(cup, raw, true);
  } catch (err) {
    if (!(err instanceof Iso8583Error)) throw err;
    return answerUndecodable(deps, raw, err, now);
  }
  const req = new Request(frame, raw, now);
  const { tpdu, header } = frame;
  const simple = async (rc: string, terminal?: Terminal, merchant?: Merchant, financial = isFinancialMti(req.mti) || req.mti === '0400'): Promise<FrameOutcome> => {
    const reply: Reply = { fields: { ...echoFields(req, financial), ...timeFields(now, merchant), 39: rc }, mac: false };
    return { response: await encodeResponse(deps.hsm, req.mti, tpdu, header, processingRequest(terminal, merchant), reply, null), kind: 'unknown', rc };
  };

  // Step 2: terminal. A 0800 (sign-in, activation, parameter download: a few a day per terminal)
  // reads the rows afresh, as that is how a terminal comes back after a change made elsewhere, such
  // as a TMK imported by `posgate terminals import-tmk`, which must not be answered 97 for a second.
  const tid = req.tid;
  const fresh = req.mti === '0800';
  const terminal = tid === undefined ? undefined : await deps.registry.terminal(tid, now, fresh);
  if (!terminal || terminal.status !== 'active') return simple(RC.terminalNotRegistered);
  // Step 3: merchant.
  const merchant = await deps.registry.merchant(terminal.merchant_id, now, fresh);
  if (!merchant || merchant.status !== 'active' || req.mid !== merchant.mid) return simple(RC.invalidMerchant, terminal, merchant);

  // Step 4: function.
  const resolved = resolveEntry(req);
  if (resolved === 'format') return simple(RC.formatError, terminal, merchant);
  if (resolved === undefined) return simple(RC.notSupported, terminal, merchant);
  const entry = resolved;
  if ((entry.kind === 'sign_in' || entry.macBearing) && terminal.tmk === null) return simple(RC.terminalNotRegistered, terminal, merchant);
  if ((isFinancialMti(req.mti) || req.mti === '0400') && unsupportedOption(req, entry.kind, terminal.tdk !== null)) return simple(RC.notSupported, terminal, merchant);

  // Step 5: keys. Step 6: MAC.
  let macVerified = false;
  if (entry.macBearing) {
    if (terminal.mak === null || terminal.pik === null) return simple(RC.signInAgain, terminal, merchant);
    const mac = req.receivedMac;
    macVerified = mac !== undefined && (await deps.hsm.verifyMac(terminal.mak, 'cup-ecb', req.mab(), mac));
    if (!macVerified) {
      deps.log.warn({ tid: terminal.tid, mti: req.mti, stan: req.stan }, 'MAC verification failed');
      return simple(RC.macFailed, terminal, merchant);
    }
  }

  const local = localTime(now, merchant.timezone);
  const base = { deps, req, entry, terminal, merchant, now, local, macVerified, link };
  // Replies of units that committed: a failure while encoding one must not turn into a 96 for a
  // request whose outcome already stands, so it is marked as after-commit (the host then sends nothing).
  const answer = async (reply: Reply, kind: string, current: Terminal = terminal, currentMerchant: Merchant = merchant): Promise<FrameOutcome> => {
    try {
      return { response: await encodeResponse(deps.hsm, req.mti, tpdu, header, processingRequest(current, currentMerchant), reply, current.mak), kind, rc: String(reply.fields[39]) };
    } catch (err) {
      throw new AfterCommitError(`response could not be encoded: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const macedDecline = (rc: string) => answer({ fields: { ...echoFields(req, true), ...timeFields(now, merchant), 37: deps.rrn.next(now), 32: deps.config.acquirerId, 39: rc }, mac: macVerified }, entry.kind);

  try {
    return await afterMacCheck(base, answer, macedDecline);
  } catch (err) {
    // After the commit the outcome stands (the host sends nothing); before it, §7 "any": 96, and
    // MACed by the response MAC rule when the request's MAC verified. Should the MAC itself fail
    // (the HSM is the fault), AcquiringHost answers 96 without one.
    if (err instanceof AfterCommitError || err instanceof OutcomeInDoubtError) throw err;
    deps.log.error({ err: err instanceof Error ? { message: err.message, name: err.name } : String(err), tid: terminal.tid, mti: req.mti }, 'internal failure');
    const financial = isFinancialMti(req.mti) || req.mti === '0400';
    const reply: Reply = { fields: { ...echoFields(req, financial), ...timeFields(now, merchant), 39: RC.systemMalfunction }, mac: macVerified };
    const response = await encodeResponse(deps.hsm, req.mti, tpdu, header, processingRequest(terminal, merchant), reply, terminal.mak).catch(() => {
      throw err;
    });
    return { response, kind: 'internal_failure', rc: RC.systemMalfunction };
  }
}

/** Steps 7–18 of a request whose terminal, merchant, function and MAC have passed. */
async function afterMacCheck(
  base: Omit<Ctx, 'card'>,
  answer: (reply: Reply, kind: string, current?: Terminal, currentMerchant?: Merchant) => Promise<FrameOutcome>,
  macedDecline: (rc: string) => Promise<FrameOutcome>,
): Promise<FrameOutcome> {
  const { deps, req, entry, terminal, merchant } = base;
  if (isFinancialMti(req.mti) || req.mti === '0400') {
    // Step 7: format (the track is deciphered first).
    if (formatError(req, entry.kind)) return macedDecline(RC.formatError);
    let card: CardInput | undefined;
    if (entry.kind !== 'reversal') {
      const read = await readCardInput(deps.hsm, req, terminal.tdk);
      if (read === null) return macedDecline(RC.formatError);
      card = read;
    }
    const ctx: Ctx = { ...base, ...(card ? { card } : {}) };
    if (entry.kind === 'reversal') {
      const { reply, terminal: after } = await handleReversal(ctx).finally(() => deps.registry.forgetTerminal(terminal.tid));
      return answer(reply, 'reversal', after);
    }
    // Step 8: batch.
    if (req.batch !== terminal.open_batch) return macedDecline(RC.signInAgain);
    const reply = await handleFinancial(ctx);
    return answer(reply, entry.kind);
  }

  const ctx: Ctx = base;
  const { reply, terminal: after, merchant: merchantAfter } = await handleManagement(ctx).finally(() => deps.registry.forgetTerminal(terminal.tid));
  return answer(reply, entry.kind, after ?? terminal, merchantAfter ?? merchant);
}

function timeFields(now: number, merchant: Merchant | undefined): Record<number, string> {
  const local = localTime(now, merchant?.timezone ?? 'Asia/Shanghai');
  return { 12: local.hhmmss, 13: local.mmdd };
}

function resolveEntry(req: Request): CatalogueEntry | 'format' | undefined {
  const mti = req.mti;
  if (isFinancialMti(mti)) {
    if (!req.has(3) || !req.has(60)) return 'format';
    return lookupFinancial(mti, req.processingCode, req.type);
  }
  if (mti === '0400') {
    if (!req.has(3) || !req.has(60)) return 'format';
    const original = lookupFinancial('0200', req.processingCode, req.type) ?? lookupFinancial('0100', req.processingCode, req.type);
    return original?.reversible ? REVERSAL : undefined;
  }
  if (!req.has(60)) return mti === '0800' || mti === '0820' || mti === '0500' || mti === '0320' ? 'format' : undefined;
  return lookupManagement(mti, req.networkCode);
}

async function answerUndecodable(deps: HostDeps, raw: Buffer, err: Iso8583Error, now: number): Promise<FrameOutcome> {
  deps.log.warn({ code: err.code, field: err.field, offset: err.offset }, 'undecodable frame');
  // Salvage what decodes: TPDU, header, and the fields before the error.
  let tpdu: Tpdu;
  let header: CupHeader;
  try {
    if (raw.length < 13) return { close: err.code };
    tpdu = decodeTpdu(raw, 2);
    header = decodeHeader(raw, 7);
  } catch {
    return { close: err.code };
  }
  const { message } = cup.unpackPartial(raw, 13, raw.length);
  if (!message || !/^0[1-9](00|20)$/.test(message.mti)) return { close: err.code };
  const stan = message.get(11);
  const tid = message.get(41);
  if (typeof stan !== 'string' || typeof tid !== 'string') return { close: err.code };
  const fields: Record<number, string> = { 11: stan, 41: tid, 39: RC.formatError, ...timeFields(now, undefined) };
  const mid = message.get(42);
  if (typeof mid === 'string') fields[42] = mid;
  const terminal = await terminalByTid(deps.store.read, tid);
  const response = await encodeResponse(deps.hsm, message.mti, tpdu, header, processingRequest(terminal, undefined), { fields, mac: false }, null);
  return { response, kind: 'undecodable', rc: RC.formatError };
}
