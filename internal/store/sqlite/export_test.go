package sqlite

import (
	"context"
	"errors"
	"os"
)

// LoseLatestChange moves the analytics cursors past the newest outbox
// change and the newest click, as if the feeds had lost them (the heal
// test).
func LoseLatestChange(s *Store) error {
	if err := s.waitApplied(context.Background()); err != nil {
		return err
	}
	_, err := s.w.ExecContext(context.Background(),
		`UPDATE analytics_feed SET cursor = (SELECT MAX(seq) FROM outbox) WHERE id = 1;
		UPDATE analytics_click_feed SET cursor = (SELECT MAX(rowid) FROM clicks) WHERE id = 1`)
	return err
}

// RawBytes is every byte of the database: its file and its write-ahead
// log (storetest.RawStore).
func (s *Store) RawBytes(ctx context.Context) ([]byte, error) {
	var path string
	if err := s.r.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&path); err != nil {
		return nil, err
	}
	var out []byte
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, nil
}
