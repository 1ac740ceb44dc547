// Package commission is the commission engine: which rule prices a
// conversion or won deal, how much it earns, and the ledger's state machine
// (COMMISSIONS.md). It is pure domain code — no I/O, no clock, no random
// IDs: time, running totals and identities are inputs, so every function is
// deterministic.
//
// # How it is driven
//
// A calculator consuming the conversion queue, for each conversion:
//
//  1. Select(partnerRule, tierRule, program, forDeal, occurredAt) picks the
//     rule and its source; VersionAt gives the program rule's version.
//  2. If UsesRunningState(rule), the store atomically takes the running
//     state of CounterKey{Beneficiary(referrer, partner), source, owner,
//     PeriodKey(rule.Period, occurredAt)} BEFORE the conversion and stores
//     state.Add(value) — exactly once per conversion (keyed by its ID), so
//     ordinals are never shared or skipped.
//  3. Compute(rule, value, state) gives the amount; if ShouldRecord(amount),
//     NewCommission builds the pending entry with its deterministic ID
//     (CommissionID), which the store inserts only if absent.
//
// At period close a job computes RetroactiveAdjustment for each counter of a
// retroactive rule and records a non-zero result with NewAdjustment, whose
// ID (AdjustmentID) makes the job safe to re-run.
//
// # Rounding
//
// Amounts are int64 minor units; products are formed in 128 bits
// (math/bits), so nothing overflows for any int64 input, and every division
// rounds half away from zero (0.5 → 1, −0.5 → −1, 0.4999 → 0). A
// revenue-basis conversion spanning several tiers sums the exact products
// slice × rate and rounds that sum once: rounding each slice could add up to
// half a minor unit per tier crossed (tiers [{upTo:5, 1000 bps}, {∞, 5000
// bps}] and a first conversion of 6: slices 0.5 + 0.5 → 1 + 1 = 2, exactly
// 1). Each conversion is still rounded on its own, so a period's marginal
// commissions add up to the bracketed total of its revenue within half a
// minor unit per conversion.
//
// # Refunds: append-only
//
// No amount is ever edited. With A the amount first earned for a conversion
// (OriginalAmount) and F the cumulative refunded amount of a conversion of
// value V, the part taken back is the cumulative target T(F) = round(A×F/V),
// T(V) = A; each refund takes back T(F_after) − T(F_before), so several
// partial refunds adding up to V take back exactly A, never more.
//
//   - Unpaid (pending or approved) commission: it becomes reversed, and for a
//     partial refund a replacement commission of A − T(F) is added (pending,
//     same availableAt, linked by OriginalID). Reversal + replacement keeps
//     each entry's amount immutable and the ledger's history readable.
//   - Paid commission: it stays paid (paid is final) and a pending clawback
//     of −(T(F_after) − T(F_before)) is added, available at once, netting
//     against the next statement.
//   - A refund too small to move the amount by one minor unit changes
//     nothing. Running totals are not rewound by refunds.
//
// # Retroactive tiers
//
// Commissions are paid marginally as conversions arrive; at period close
// every conversion of the period is re-rated at the tier reached by the
// final total and one adjustment records re-rated − recorded. For the count
// basis the tier is the one paying the final ordinal; for the revenue basis
// (our interpretation) it is the tier whose range contains the final revenue
// total, and each conversion's whole value is re-rated at that single rate.
//
// # Lifecycle
//
// pending → approved (once now ≥ availableAt = occurredAt + holdDays × 24h;
// before that KindConflict "on_hold") → paid (payout reference required);
// pending → rejected (reason required); pending/approved → reversed (refund
// only). Paid, rejected and reversed are final. Every change returns an
// AuditEntry {commissionId, from, to, actor, at, reason}; creation has
// from "".
package commission
