package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"

	"github.com/partnerloop/partnerloop/internal/app"
	"github.com/partnerloop/partnerloop/internal/pipeline"
)

// faultEnv turns on fault injection in the local server, for the
// end-to-end tests of the pipeline: PARTNERLOOP_FAULT_EVERY=n makes every
// n-th calculator delivery fail. Lambda functions never read it.
const faultEnv = "PARTNERLOOP_FAULT_EVERY"

// faulty fails every n-th call: alternately before handling (the
// calculator died before doing anything) and after handling (it did the
// work but died before the delivery was acknowledged). Redelivery must then
// neither lose nor double a commission.
type faulty struct {
	next  app.MessageHandler
	every int64
	calls atomic.Int64
}

func (f *faulty) Handle(ctx context.Context, m pipeline.Message) error {
	n := f.calls.Add(1)
	if n%f.every != 0 {
		return f.next.Handle(ctx, m)
	}
	if (n/f.every)%2 == 1 {
		return fmt.Errorf("injected fault before handling %s", m.ID)
	}
	if err := f.next.Handle(ctx, m); err != nil {
		return err
	}
	return fmt.Errorf("injected fault after handling %s", m.ID)
}

// withFaults wraps h when faultEnv is set.
func withFaults(h app.MessageHandler) (app.MessageHandler, error) {
	v := os.Getenv(faultEnv)
	if v == "" {
		return h, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return nil, fmt.Errorf("%s=%q: want a positive integer", faultEnv, v)
	}
	fmt.Fprintf(os.Stderr, "fault injection: every %d-th calculator delivery fails\n", n)
	return &faulty{next: h, every: int64(n)}, nil
}
