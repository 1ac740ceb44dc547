package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"github.com/partnerloop/partnerloop/internal/store"
)

// The embedded message queue (store.Queue). Every message of every named
// queue is one row of queue_messages, keyed by (queue, id). A row stays
// after it is acknowledged or dead-lettered (done = 1, body emptied), so
// its ID is remembered and enqueueing it again is a no-op; dead letters
// keep their body in dead_letters. Receiving a message pushes its
// available_at to the end of the visibility timeout, which is what makes it
// invisible while in flight: "due" is simply done = 0 AND available_at <=
// now.

var _ store.Queue = (*Store)(nil)

var errEmptyQueueName = errors.New("sqlite: empty queue name")

// Enqueue adds the messages that the queue does not already hold, all in
// one transaction. IDs already present (waiting, in flight, acknowledged or
// dead-lettered) are left as they are.
func (s *Store) Enqueue(ctx context.Context, queue string, msgs []store.QueuedMessage) error {
	if queue == "" {
		return errEmptyQueueName
	}
	if len(msgs) == 0 {
		return nil
	}
	for _, m := range msgs {
		if m.ID == "" {
			return errors.New("sqlite: enqueue: empty message id")
		}
	}
	return s.write(ctx, func(tx *wtx) error {
		for _, m := range msgs {
			body := m.Body
			if body == nil {
				body = []byte{}
			}
			if _, err := tx.ExecContext(ctx, `
INSERT INTO queue_messages (queue, id, body, available_at)
SELECT ?, ?, ?, ?
WHERE NOT EXISTS (SELECT 1 FROM dead_letters WHERE queue = ? AND id = ?)
ON CONFLICT (queue, id) DO NOTHING`, queue, m.ID, body, formatTime(m.AvailableAt), queue, m.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

// Receive returns up to max due messages, oldest available first, and
// hides each until now+visibility with its receive count increased. An
// idle queue is answered from a reader connection, without taking the
// write lock.
func (s *Store) Receive(ctx context.Context, queue string, max int, visibility time.Duration, now time.Time) ([]store.Delivery, error) {
	if queue == "" {
		return nil, errEmptyQueueName
	}
	if max <= 0 {
		return nil, nil
	}
	const due = `FROM queue_messages WHERE queue = ? AND done = 0 AND available_at <= ?`
	nowS := formatTime(now)
	var one int
	switch err := s.r.QueryRowContext(ctx, `SELECT 1 `+due+` LIMIT 1`, queue, nowS).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, mapErr(err)
	}
	hiddenUntil := formatTime(now.Add(visibility))
	var out []store.Delivery
	err := s.write(ctx, func(tx *wtx) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx,
			`SELECT id, body, receive_count, last_error `+due+` ORDER BY available_at, rowid LIMIT ?`, queue, nowS, max)
		if err != nil {
			return err
		}
		for rows.Next() {
			var d store.Delivery
			if err := rows.Scan(&d.ID, &d.Body, &d.ReceiveCount, &d.LastError); err != nil {
				rows.Close()
				return err
			}
			d.ReceiveCount++
			out = append(out, d)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, d := range out {
			if _, err := tx.ExecContext(ctx,
				`UPDATE queue_messages SET receive_count = ?, available_at = ? WHERE queue = ? AND id = ?`,
				d.ReceiveCount, hiddenUntil, queue, d.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Ack marks the message done and drops its body; its ID stays remembered.
func (s *Store) Ack(ctx context.Context, queue, id string) error {
	return s.AckAll(ctx, queue, []string{id})[0]
}

// AckAll acknowledges the messages ids of queue as Ack does, all in one
// transaction, and returns one error per ID (nil when acknowledged). A
// failure of the transaction itself is every ID's error.
func (s *Store) AckAll(ctx context.Context, queue string, ids []string) []error {
	errs := make([]error, len(ids))
	if len(ids) == 0 {
		return errs
	}
	now := formatTime(time.Now())
	err := s.write(ctx, func(tx *wtx) error {
		for i, id := range ids {
			res, err := tx.ExecContext(ctx,
				`UPDATE queue_messages SET done = 1, body = x'', done_at = COALESCE(done_at, ?) WHERE queue = ? AND id = ?`,
				now, queue, id)
			if err != nil {
				return err
			}
			errs[i] = mapErr(mustAffect(res))
		}
		return nil
	})
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
	}
	return errs
}

// Retry makes an undone message due at at and records lastError.
func (s *Store) Retry(ctx context.Context, queue, id string, at time.Time, lastError string) error {
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE queue_messages SET available_at = ?, last_error = ? WHERE queue = ? AND id = ? AND done = 0`,
			formatTime(at), lastError, queue, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		return queueMessageExists(ctx, tx, queue, id) // done: a no-op
	})
}

// DeadLetter moves an undone message to dead_letters with lastError and
// marks it done.
func (s *Store) DeadLetter(ctx context.Context, queue, id, lastError string) error {
	return s.write(ctx, func(tx *wtx) error {
		var (
			body  []byte
			count int
			done  bool
		)
		err := tx.QueryRowContext(ctx,
			`SELECT body, receive_count, done FROM queue_messages WHERE queue = ? AND id = ?`, queue, id).
			Scan(&body, &count, &done)
		if err != nil {
			return err // sql.ErrNoRows: store.ErrNotFound
		}
		if done {
			return nil
		}
		now := formatTime(time.Now())
		if _, err := tx.ExecContext(ctx, `
INSERT INTO dead_letters (queue, id, body, receive_count, last_error, dead_at) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (queue, id) DO NOTHING`, queue, id, body, count, lastError, now); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx,
			`UPDATE queue_messages SET done = 1, body = x'', last_error = ?, done_at = ? WHERE queue = ? AND id = ?`,
			lastError, now, queue, id)
		return err
	})
}

// DeadLetters lists the queue's dead letters, most recent first.
func (s *Store) DeadLetters(ctx context.Context, queue string, p store.Page) ([]store.Delivery, string, error) {
	p = p.Clamp()
	where, args := "queue = ?", []any{queue}
	if p.Cursor != "" {
		c, err := decodeCursor(p.Cursor)
		if err != nil {
			return nil, "", err
		}
		seq, err := strconv.ParseInt(c, 10, 64)
		if err != nil {
			return nil, "", store.ErrBadCursor
		}
		where += " AND seq < ?"
		args = append(args, seq)
	}
	rows, err := s.r.QueryContext(ctx,
		`SELECT seq, id, body, receive_count, last_error FROM dead_letters WHERE `+where+` ORDER BY seq DESC LIMIT ?`,
		append(args, p.Limit+1)...)
	if err != nil {
		return nil, "", mapErr(err)
	}
	defer rows.Close()
	var (
		out  []store.Delivery
		seqs []int64
	)
	for rows.Next() {
		var (
			d   store.Delivery
			seq int64
		)
		if err := rows.Scan(&seq, &d.ID, &d.Body, &d.ReceiveCount, &d.LastError); err != nil {
			return nil, "", mapErr(err)
		}
		out = append(out, d)
		seqs = append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, "", mapErr(err)
	}
	next := ""
	if len(out) > p.Limit {
		out = out[:p.Limit]
		next = encodeCursor(strconv.FormatInt(seqs[p.Limit-1], 10))
	}
	return out, next, nil
}

// PruneQueue forgets the IDs of messages acknowledged before doneBefore, so
// the table does not grow forever; dead letters are kept (and keep their
// IDs remembered). Forget only IDs that can no longer be enqueued again —
// well after the outbox that produced them was pruned. It returns how many
// rows it dropped. It deletes pruneQueueChunk rows per write transaction,
// so other writes (the group commit) get the writer in between.
func (s *Store) PruneQueue(ctx context.Context, doneBefore time.Time) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.write(ctx, func(tx *wtx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM queue_messages WHERE rowid IN
				(SELECT rowid FROM queue_messages WHERE done = 1 AND done_at < ? LIMIT ?)`,
				formatTime(doneBefore), pruneQueueChunk)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		total += n
		if err != nil || n < pruneQueueChunk {
			return total, err
		}
	}
}

// pruneQueueChunk bounds the rows one of PruneQueue's transactions deletes.
const pruneQueueChunk = 1000

// queueMessageExists returns nil if the queue holds id (in any state), else
// store.ErrNotFound.
func queueMessageExists(ctx context.Context, q querier, queue, id string) error {
	var one int
	return q.QueryRowContext(ctx, `SELECT 1 FROM queue_messages WHERE queue = ? AND id = ?`, queue, id).Scan(&one)
}
