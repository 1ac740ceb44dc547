package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/partnerloop/partnerloop/internal/analytics"
	"github.com/partnerloop/partnerloop/internal/domain"
)

// NewAnalyticsRollup returns the analytics-rollup function's handler: one
// run of the rollup job (analytics.Rollup.RunOnce) per invocation. Runs that
// overlap, repeat or come late are harmless — the store applies each
// change once — and a failed run is simply continued by the next.
func NewAnalyticsRollup(job *analytics.Rollup, log *slog.Logger) ScheduledHandler {
	return func(ctx context.Context, payload []byte) ([]byte, error) {
		var in scheduleInput
		_ = json.Unmarshal(payload, &in) // any payload will do: it only labels the logs
		log := log.With("scheduledTime", in.ScheduledTime, "executionId", in.ExecutionID, "attempt", in.AttemptNumber)
		st, err := job.RunOnce(ctx)
		if err != nil {
			log.ErrorContext(ctx, "analytics rollup failed", "err", err, "changes", st.Changes, "rebuilt", st.Rebuilt)
			return nil, err
		}
		log.InfoContext(ctx, "analytics rollup done", "changes", st.Changes, "cells", st.Cells, "rebuilt", st.Rebuilt,
			"healed", st.Healed, "caughtUp", st.CaughtUp, "asOf", st.AsOf, "took", st.Took.String())
		return json.Marshal(st)
	}
}

// StartAnalyticsRollup is the whole main of the analytics-rollup function.
func StartAnalyticsRollup() {
	cfg, log := mustConfig("analytics-rollup")
	st, err := OpenStore(context.Background(), cfg, os.Getenv, os.Environ())
	if err != nil {
		fail(log, "store", err)
	}
	as, ok := st.(analytics.RollupStore)
	if !ok {
		fail(log, "store", fmt.Errorf("STORE=%s keeps no analytics rollups", cfg.Store))
	}
	job := &analytics.Rollup{Store: as, Now: domain.SystemClock, Log: log, Batch: 10_000}
	lambda.Start(NewAnalyticsRollup(job, log))
}
