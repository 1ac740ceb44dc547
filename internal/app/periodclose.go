package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/pipeline"
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
func NewPeriodClose(st pipeline.LedgerStore, now domain.Clock, log *slog.Logger) ScheduledHandler {
	return func(ctx context.Context, payload []byte) ([]byte, error) {
		var in scheduleInput
		_ = json.Unmarshal(payload, &in) // any payload will do: it only labels the logs
		log := log.With("scheduledTime", in.ScheduledTime, "executionId", in.ExecutionID, "attempt", in.AttemptNumber)
		created, err := pipeline.ClosePeriods(ctx, st, now(), log)
		if err != nil {
			log.ErrorContext(ctx, "period close failed", "err", err, "created", created)
			return nil, fmt.Errorf("period close (%d adjustments recorded before the failure): %w", created, err)
		}
		log.InfoContext(ctx, "period close done", "created", created)
		return json.Marshal(PeriodCloseResult{Created: created})
	}
}

// StartPeriodClose is the whole main of the period-close function.
func StartPeriodClose() {
	cfg, log := mustConfig("period-close")
	ls := mustLedgerStore(cfg, log)
	lambda.Start(NewPeriodClose(ls, domain.SystemClock, log))
}
