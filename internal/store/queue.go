package store

import (
	"context"
	"time"
)

// Queue is a durable, at-least-once message queue: the embedded mode's
// stand-in for SQS with its dead-letter queue. Several named queues share one
// store ("commissions", "events"); a message belongs to exactly one.
//
// A message is due when its available time has come and it is neither done
// (acknowledged or dead-lettered) nor in flight. Receiving a message hides it
// for a visibility timeout: if it is neither acknowledged nor retried before
// then (the consumer crashed), it is delivered again.
type Queue interface {
	// Enqueue adds messages, idempotently by ID: a message whose ID the
	// queue already holds — waiting, in flight, acknowledged or
	// dead-lettered — is left as it is. Either every new message is added
	// or none.
	Enqueue(ctx context.Context, queue string, msgs []QueuedMessage) error
	// Receive returns up to max due messages, oldest available first. Each
	// one's ReceiveCount grows by one and it is hidden until
	// now+visibility.
	Receive(ctx context.Context, queue string, max int, visibility time.Duration, now time.Time) ([]Delivery, error)
	// Ack marks a message done; its ID stays remembered, so enqueueing it
	// again is a no-op. Acknowledging a done message is a no-op; an
	// unknown ID is ErrNotFound.
	Ack(ctx context.Context, queue, id string) error
	// Retry makes an undone message due again at at, recording why it
	// failed. It is a no-op for a done message; an unknown ID is
	// ErrNotFound.
	Retry(ctx context.Context, queue, id string, at time.Time, lastError string) error
	// DeadLetter moves an undone message to the queue's dead letters with
	// the reason; it is never delivered again and its ID stays
	// remembered. It is a no-op for a done message; an unknown ID is
	// ErrNotFound.
	DeadLetter(ctx context.Context, queue, id, lastError string) error
	// DeadLetters lists the queue's dead letters, most recently
	// dead-lettered first, with the cursor of the next page ("" at the
	// end).
	DeadLetters(ctx context.Context, queue string, p Page) ([]Delivery, string, error)
}

// QueuedMessage is a message to enqueue. AvailableAt is when it first
// becomes due (the zero time: at once).
type QueuedMessage struct {
	ID          string
	Body        []byte
	AvailableAt time.Time
}

// Delivery is a received (or dead-lettered) message: ReceiveCount counts
// its deliveries including this one, LastError is the reason given by the
// last Retry or DeadLetter ("" before any).
type Delivery struct {
	ID           string
	Body         []byte
	ReceiveCount int
	LastError    string
}
