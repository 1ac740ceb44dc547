package demo

import (
	"container/heap"
	"context"
	"time"
)

// sim plays the year as a discrete-event simulation: every action (a click,
// a referral, a refund, an admin's review) is an event at an instant, run
// in time order with the services' clock set to that instant. So every
// record is created the way the product creates it — by its service, at
// the time it claims — and IDs, audit trails and hold periods line up.
type sim struct {
	now, end time.Time
	events   events
	seq      int64
}

func newSim(start, end time.Time) *sim {
	return &sim{now: start, end: end}
}

// clock is the services' clock: the instant of the running event.
func (s *sim) clock() time.Time { return s.now }

// at schedules fn at t (never before the running event). Events at or
// after the end — the real present — do not happen.
func (s *sim) at(t time.Time, fn func(context.Context) error) {
	if t.Before(s.now) {
		t = s.now
	}
	if !t.Before(s.end) {
		return
	}
	s.seq++
	heap.Push(&s.events, &event{at: t.UTC(), seq: s.seq, run: fn})
}

// run plays every event in order and leaves the clock at the end. The
// first error stops it.
func (s *sim) run(ctx context.Context) error {
	for n := 0; s.events.Len() > 0; n++ {
		if n%1000 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		e := heap.Pop(&s.events).(*event)
		s.now = e.at
		if err := e.run(ctx); err != nil {
			return err
		}
	}
	s.now = s.end
	return nil
}

type event struct {
	at  time.Time
	seq int64 // ties run in the order they were scheduled
	run func(context.Context) error
}

// events is a min-heap by (at, seq).
type events []*event

func (q events) Len() int { return len(q) }
func (q events) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q events) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *events) Push(x any)   { *q = append(*q, x.(*event)) }
func (q *events) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}
