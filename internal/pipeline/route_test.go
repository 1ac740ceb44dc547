package pipeline

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/store"
)

var at = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

func change(entity, op, id, old, neu string) store.Change {
	c := store.Change{Seq: 7, Entity: entity, Op: op, OrgID: "org_1", ID: id, At: at}
	if old != "" {
		c.OldImage = []byte(old)
	}
	if neu != "" {
		c.NewImage = []byte(neu)
	}
	return c
}

func conv(refunded int64) string {
	return `{"id":"cnv_1","programId":"prg_1","amount":{"amount":4999,"currency":"USD"},"refundedAmount":{"amount":` +
		jsonInt(refunded) + `,"currency":"USD"}}`
}

func com(status string) string {
	return `{"id":"com_1","kind":"commission","status":"` + status + `","amount":{"amount":500,"currency":"USD"}}`
}

func deal(status string) string { return `{"id":"dea_1","status":"` + status + `"}` }

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestRoute(t *testing.T) {
	tests := []struct {
		name    string
		change  store.Change
		want    string // message type, "" for none
		payload string // expected payload JSON, when checked
	}{
		{"conversion insert", change("conversion", "INSERT", "cnv_1", "", conv(0)),
			TypeConversionRecorded, `{"conversionId":"cnv_1","programId":"prg_1"}`},
		{"conversion partial refund", change("conversion", "MODIFY", "cnv_1", conv(0), conv(1000)),
			TypeConversionRefunded, `{"conversionId":"cnv_1","programId":"prg_1","refundedTotal":1000,"currency":"USD"}`},
		{"conversion second refund", change("conversion", "MODIFY", "cnv_1", conv(1000), conv(4999)),
			TypeConversionRefunded, `{"conversionId":"cnv_1","programId":"prg_1","refundedTotal":4999,"previousRefunded":1000,"currency":"USD"}`},
		{"conversion refund without old image", change("conversion", "MODIFY", "cnv_1", "", conv(10)),
			TypeConversionRefunded, ""},
		{"conversion modify, refund unchanged", change("conversion", "MODIFY", "cnv_1", conv(10), conv(10)), "", ""},
		{"conversion modify, no refund", change("conversion", "MODIFY", "cnv_1", conv(0), conv(0)), "", ""},
		{"signup refunded (no value: only refundedAt is stamped)", change("conversion", "MODIFY", "cnv_1",
			`{"id":"cnv_1","programId":"prg_1","amount":null,"refundedAmount":{"amount":0,"currency":"USD"},"refundedAt":null}`,
			`{"id":"cnv_1","programId":"prg_1","amount":null,"refundedAmount":{"amount":0,"currency":"USD"},"refundedAt":"2026-03-02T00:00:00Z"}`),
			TypeConversionRefunded, `{"conversionId":"cnv_1","programId":"prg_1","currency":"USD"}`},
		{"conversion refund shrank", change("conversion", "MODIFY", "cnv_1", conv(10), conv(5)), "", ""},
		{"conversion remove", change("conversion", "REMOVE", "cnv_1", conv(0), ""), "", ""},
		{"commission insert", change("commission", "INSERT", "com_1", "", com("pending")),
			TypeCommissionCreated, `{"commission":` + com("pending") + `}`},
		{"commission approved", change("commission", "MODIFY", "com_1", com("pending"), com("approved")),
			TypeCommissionApproved, `{"commission":` + com("approved") + `,"previousStatus":"pending"}`},
		{"commission rejected", change("commission", "MODIFY", "com_1", com("pending"), com("rejected")), TypeCommissionRejected, ""},
		{"commission paid", change("commission", "MODIFY", "com_1", com("approved"), com("paid")), TypeCommissionPaid, ""},
		{"commission reversed", change("commission", "MODIFY", "com_1", com("approved"), com("reversed")), TypeCommissionReversed, ""},
		{"commission modify, same status", change("commission", "MODIFY", "com_1", com("pending"), com("pending")), "", ""},
		{"commission modify to an unknown status", change("commission", "MODIFY", "com_1", com("pending"), com("frozen")), "", ""},
		{"commission remove", change("commission", "REMOVE", "com_1", com("pending"), ""), "", ""},
		{"deal won", change("deal", "MODIFY", "dea_1", deal("open"), deal("won")), TypeDealWon, `{"dealId":"dea_1"}`},
		{"deal won again", change("deal", "MODIFY", "dea_1", deal("won"), deal("won")), "", ""},
		{"deal lost", change("deal", "MODIFY", "dea_1", deal("open"), deal("lost")), "", ""},
		{"deal insert", change("deal", "INSERT", "dea_1", "", deal("open")), "", ""},
		{"program insert", change("program", "INSERT", "prg_1", "", `{"id":"prg_1"}`), "", ""},
		{"referral modify", change("referral", "MODIFY", "ref_1", `{}`, `{}`), "", ""},
		{"user insert", change("user", "INSERT", "usr_1", "", `{}`), "", ""},
		{"unknown op", change("conversion", "UPSERT", "cnv_1", "", conv(0)), "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msgs, err := Route(tc.change)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if len(msgs) != 0 {
					t.Fatalf("Route = %+v, want no message", msgs)
				}
				return
			}
			if len(msgs) != 1 {
				t.Fatalf("Route = %d messages, want 1 %s", len(msgs), tc.want)
			}
			m := msgs[0]
			if m.Type != tc.want || m.OrgID != "org_1" || m.EntityID != tc.change.ID || !m.At.Equal(at) {
				t.Fatalf("message = %+v, want type %s for %s", m, tc.want, tc.change.ID)
			}
			if !strings.HasPrefix(m.ID, "msg_") || len(m.ID) != 36 {
				t.Fatalf("message ID %q", m.ID)
			}
			if tc.payload != "" && string(m.Payload) != tc.payload {
				t.Fatalf("payload = %s\nwant      %s", m.Payload, tc.payload)
			}
			if got := QueueFor(m.Type); got != map[bool]string{true: QueueEvents, false: QueueCommissions}[strings.HasPrefix(m.Type, "commission.")] {
				t.Fatalf("QueueFor(%s) = %s", m.Type, got)
			}
		})
	}
}

func TestRouteRejectsUnreadableImages(t *testing.T) {
	for name, c := range map[string]store.Change{
		"conversion insert without image": change("conversion", "INSERT", "cnv_1", "", ""),
		"conversion bad new image":        change("conversion", "MODIFY", "cnv_1", conv(0), "{"),
		"conversion bad old image":        change("conversion", "MODIFY", "cnv_1", "[", conv(1)),
		"commission wrong type":           change("commission", "INSERT", "com_1", "", `{"status":5}`),
		"deal modify without new image":   change("deal", "MODIFY", "dea_1", deal("open"), ""),
	} {
		if msgs, err := Route(c); err == nil {
			t.Errorf("%s: Route = %+v, want an error", name, msgs)
		}
	}
}

// A change read twice (a redelivered stream record, an outbox read again)
// yields the same message; a different change a different one.
func TestRouteIsDeterministic(t *testing.T) {
	c := change("conversion", "MODIFY", "cnv_1", conv(0), conv(1000))
	a, _ := Route(c)
	c.Seq = 99 // a stream record's sequence number is not the outbox's
	b, _ := Route(c)
	if a[0].ID != b[0].ID || string(a[0].Payload) != string(b[0].Payload) {
		t.Fatalf("same change, different messages: %+v / %+v", a[0], b[0])
	}
	seen := map[string]string{a[0].ID: "refund 1000"}
	for name, c := range map[string]store.Change{
		"refund 2000":       change("conversion", "MODIFY", "cnv_1", conv(1000), conv(2000)),
		"other conversion":  change("conversion", "MODIFY", "cnv_2", conv(0), conv(1000)),
		"insert":            change("conversion", "INSERT", "cnv_1", "", conv(1000)),
		"other org":         {Entity: "conversion", Op: "MODIFY", OrgID: "org_2", ID: "cnv_1", OldImage: []byte(conv(0)), NewImage: []byte(conv(1000))},
		"commission create": change("commission", "INSERT", "cnv_1", "", conv(1000)),
	} {
		m, err := Route(c)
		if err != nil || len(m) != 1 {
			t.Fatalf("%s: %v, %v", name, m, err)
		}
		if prev, dup := seen[m[0].ID]; dup {
			t.Fatalf("%s and %s share message ID %s", name, prev, m[0].ID)
		}
		seen[m[0].ID] = name
	}
}

func TestMessageEncoding(t *testing.T) {
	msgs, _ := Route(change("conversion", "INSERT", "cnv_1", "", conv(0)))
	b, err := msgs[0].Encode()
	if err != nil {
		t.Fatal(err)
	}
	m, err := DecodeMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != msgs[0].ID || m.Type != msgs[0].Type || m.OrgID != "org_1" || m.EntityID != "cnv_1" ||
		!m.At.Equal(at) || string(m.Payload) != string(msgs[0].Payload) {
		t.Fatalf("round trip = %+v, want %+v", m, msgs[0])
	}
	for _, bad := range []string{``, `{`, `{}`, `{"id":"x"}`, `[]`} {
		if _, err := DecodeMessage([]byte(bad)); err == nil {
			t.Errorf("DecodeMessage(%q) accepted", bad)
		}
	}
}

func TestDefaultBackoff(t *testing.T) {
	want := []time.Duration{time.Second, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
		16 * time.Second, 32 * time.Second, time.Minute, time.Minute, time.Minute}
	for n, w := range want {
		if got := DefaultBackoff(n); got != w {
			t.Errorf("DefaultBackoff(%d) = %v, want %v", n, got, w)
		}
	}
	if DefaultBackoff(1000) != time.Minute {
		t.Error("backoff not capped")
	}
}

func TestPermanent(t *testing.T) {
	if Permanent(nil) != nil {
		t.Fatal("Permanent(nil) != nil")
	}
	base := store.ErrNotFound
	p := Permanent(base)
	if !IsPermanent(p) || IsPermanent(base) || !IsPermanent(Permanent(p)) {
		t.Fatal("IsPermanent wrong")
	}
	wrapped := wrap(p)
	if !IsPermanent(wrapped) || !strings.Contains(wrapped.Error(), base.Error()) {
		t.Fatalf("wrapped permanent error: %v", wrapped)
	}
}

func wrap(err error) error { return &wrapper{err} }

type wrapper struct{ err error }

func (w *wrapper) Error() string { return "ctx: " + w.err.Error() }
func (w *wrapper) Unwrap() error { return w.err }
