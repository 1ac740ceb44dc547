package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/partnerloop/partnerloop/internal/deals"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/pipeline"
	"github.com/partnerloop/partnerloop/internal/tracking"
)

// ScheduledHandler is the Lambda handler of a scheduled function. It takes
// the invocation's payload as it is — EventBridge Scheduler sends the
// schedule's Input (template.yaml), but any payload, JSON or not, even
// none, is accepted — and answers JSON. It implements lambda.Handler, so
// lambda.Start does not decode the payload first.
type ScheduledHandler func(ctx context.Context, payload []byte) ([]byte, error)

// Invoke implements lambda.Handler.
func (h ScheduledHandler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return h(ctx, payload)
}

// PeriodCloseResult is the period-close function's answer.
type PeriodCloseResult struct {
	Created int `json:"created"` // adjustments recorded by this run
}

// scheduleInput is what the schedule's Input tells (the Scheduler's
// context attributes, template.yaml), used only to label the logs.
type scheduleInput struct {
	ScheduledTime string `json:"scheduledTime"`
	ExecutionID   string `json:"executionId"`
	AttemptNumber string `json:"attemptNumber"`
}

// NewPeriodClose returns the period-close handler: one run of
// pipeline.ClosePeriods at now(). Running it again, early, late or twice at
// once is harmless (each adjustment is created once); an error fails the
// invocation so that it is retried, and the next hourly run retries anyway.
//
// The sweeps (HourlySweeps: referral and deal expiry) run after it in the same invocation, even
// when period close failed; a failed sweep fails the invocation too.
func NewPeriodClose(st pipeline.LedgerStore, now domain.Clock, log *slog.Logger, sweeps ...pipeline.Sweep) ScheduledHandler {
	return func(ctx context.Context, payload []byte) ([]byte, error) {
		var in scheduleInput
		_ = json.Unmarshal(payload, &in) // any payload will do: it only labels the logs
		log := log.With("scheduledTime", in.ScheduledTime, "executionId", in.ExecutionID, "attempt", in.AttemptNumber)
		created, err := pipeline.ClosePeriods(ctx, st, now(), log)
		if err != nil {
			log.ErrorContext(ctx, "period close failed", "err", err, "created", created)
			err = fmt.Errorf("period close (%d adjustments recorded before the failure): %w", created, err)
		} else {
			log.InfoContext(ctx, "period close done", "created", created)
		}
		if serr := pipeline.RunSweeps(ctx, sweeps, log); serr != nil {
			err = errors.Join(err, serr)
		}
		if err != nil {
			return nil, err
		}
		return json.Marshal(PeriodCloseResult{Created: created})
	}
}

// DealExpirySweep is the hourly sweep that expires partner deals past their
// exclusivity, in every organization (nil service: no sweep).
func DealExpirySweep(ds *deals.Service) []pipeline.Sweep {
	if ds == nil {
		return nil
	}
	return []pipeline.Sweep{{Name: "deal expiry", Run: ds.ExpireAll}}
}

// HourlySweeps are the sweeps of the hourly job: the referrals whose
// attribution window ended become expired, and partner deals past their
// exclusivity too (when the store keeps deals).
func HourlySweeps(tr *tracking.Service, ds *deals.Service) []pipeline.Sweep {
	return append([]pipeline.Sweep{{Name: "referral expiry", Run: tr.ExpireReferrals}}, DealExpirySweep(ds)...)
}

// StartPeriodClose is the whole main of the period-close function.
func StartPeriodClose() {
	cfg, log := mustConfig("period-close")
	ls := mustLedgerStore(cfg, log)
	ids := domain.NewULIDs(domain.SystemClock)
	ds := NewDeals(cfg, ls, domain.SystemClock, ids)
	tr := tracking.New(ls, domain.SystemClock, ids)
	lambda.Start(NewPeriodClose(ls, domain.SystemClock, log, HourlySweeps(tr, ds)...))
}
