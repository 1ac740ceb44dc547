package webhooks_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/partnerloop/partnerloop/internal/store/sqlite"
)

// BenchmarkDispatchSQLite measures one event's way from the events queue
// to its endpoints on the embedded store: fan-out into deliveries, the
// signed request to a loopback receiver, the outcome recorded.
//
//	go test ./internal/webhooks -run '^$' -bench Dispatch -benchtime 2000x
func BenchmarkDispatchSQLite(b *testing.B) {
	for _, endpoints := range []int{1, 3} {
		b.Run(fmt.Sprintf("endpoints=%d", endpoints), func(b *testing.B) {
			st, err := sqlite.Open(filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			h := newHarness(b, st)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
			defer srv.Close()
			for range endpoints {
				h.endpoint(b, srv.URL, "partner.*")
			}
			msgs := feed(b)
			for i := range b.N {
				msgs = append(msgs, feed(b, h.change("partner", "INSERT", fmt.Sprintf("prt_%d", i), nil, map[string]any{"name": "P"}, int64(i+1)))...)
			}
			b.ResetTimer()
			for _, m := range msgs {
				if err := h.disp.Handle(b.Context(), m); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
