/** The issuer simulator: test cards and issuer answers (a simulator, never a real issuer). */
export {
  cardSummaries,
  IssuerSimulator,
  updateCard,
  type CardSummary,
  simulatorTrack2,
  PIN_TRIES_MAX,
  type Card,
  type CardKind,
  type CardStatus,
  type ChipRequest,
  type IssuerOperation,
  type IssuerResult,
  type NewCard,
  type PinCheck,
  type TrackData,
  type VerifiedChip,
} from './issuer-simulator.js';
