package dynamo

import (
	"context"
	"time"
)

// LoseStream moves the analytics feed's checkpoints to the stream's end
// without applying what is there, as if those changes had been lost (the
// heal test).
func LoseStream(s *Store) error {
	ctx := context.Background()
	st, _, err := s.settle(ctx)
	if err != nil {
		return err
	}
	read, err := s.readStream(ctx, st.Checkpoints, maxStreamRead)
	if err != nil {
		return err
	}
	p := pendingRun{Run: st.Run + 1, Owner: "lost", CreatedAt: time.Now(), Checkpoints: read.checkpoints, AsOf: st.AsOf}
	if err := s.claim(ctx, st, p); err != nil {
		return err
	}
	if err := s.markReady(ctx, p); err != nil {
		return err
	}
	return s.commit(ctx, p)
}

// ShardOf is shardOf, for the layout test.
func ShardOf(id string, n int) int { return shardOf(id, n) }
