package sqlite

import "context"

// LoseLatestChange moves the analytics cursor past the newest outbox
// change, as if the feed had lost it (the heal test).
func LoseLatestChange(s *Store) error {
	_, err := s.w.ExecContext(context.Background(),
		`UPDATE analytics_feed SET cursor = (SELECT MAX(seq) FROM outbox) WHERE id = 1`)
	return err
}
