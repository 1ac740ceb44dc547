package pipeline

import (
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/store"
)

func TestEventsOfChanges(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ch := func(entity, op, old, neu string) store.Change {
		c := store.Change{Entity: entity, Op: op, OrgID: "org_1", ID: "x_1", At: at}
		if old != "" {
			c.OldImage = []byte(old)
		}
		if neu != "" {
			c.NewImage = []byte(neu)
		}
		return c
	}
	for _, tc := range []struct {
		name string
		c    store.Change
		want string // "" for none
	}{
		{"referral created", ch("referral", OpInsert, "", `{"status":"pending"}`), "referral.created"},
		{"referral converted", ch("referral", OpModify, `{"status":"pending"}`, `{"status":"converted"}`), "referral.converted"},
		{"referral expired", ch("referral", OpModify, `{"status":"pending"}`, `{"status":"expired"}`), "referral.expired"},
		{"referral touched, same status", ch("referral", OpModify, `{"status":"pending"}`, `{"status":"pending","name":"x"}`), ""},
		{"conversion created", ch("conversion", OpInsert, "", `{"id":"x_1"}`), "conversion.created"},
		{"conversion refunded", ch("conversion", OpModify, `{"refundedAmount":{"amount":0}}`, `{"refundedAmount":{"amount":500,"currency":"USD"}}`), "conversion.refunded"},
		{"conversion modified otherwise", ch("conversion", OpModify, `{"refundedAmount":{"amount":500}}`, `{"refundedAmount":{"amount":500}}`), ""},
		{"deal registered", ch("deal", OpInsert, "", `{"status":"conflict"}`), "deal.registered"},
		{"deal approved", ch("deal", OpModify, `{"status":"registered"}`, `{"status":"approved"}`), "deal.approved"},
		{"deal won", ch("deal", OpModify, `{"status":"approved"}`, `{"status":"won"}`), "deal.won"},
		{"partner created", ch("partner", OpInsert, "", `{"id":"x_1"}`), "partner.created"},
		{"partner updated", ch("partner", OpModify, `{"id":"x_1"}`, `{"id":"x_1","name":"N"}`), "partner.updated"},
		{"partner removed", ch("partner", OpRemove, `{"id":"x_1"}`, ""), ""},
		{"program created", ch("program", OpInsert, "", `{"id":"x_1"}`), ""},
		{"commission created (Route's)", ch("commission", OpInsert, "", `{"status":"pending"}`), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := Events(tc.c)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if len(ms) != 0 {
					t.Fatalf("events = %+v, want none", ms)
				}
				return
			}
			if len(ms) != 1 || ms[0].Type != EventPrefix+tc.want || ms[0].EntityID != "x_1" || string(ms[0].Payload) != string(tc.c.NewImage) {
				t.Fatalf("events = %+v, want one %s with the new image", ms, tc.want)
			}
			again, _ := Events(tc.c)
			if again[0].ID != ms[0].ID {
				t.Fatalf("the same change gave event IDs %s and %s", ms[0].ID, again[0].ID)
			}
			typ, data, ok := PublicEvent(ms[0])
			if !ok || typ != tc.want || string(data) != string(tc.c.NewImage) {
				t.Fatalf("PublicEvent = %q, %s, %v", typ, data, ok)
			}
			if QueueFor(ms[0].Type) != QueueEvents {
				t.Fatalf("%s goes to %s, want the events queue", ms[0].Type, QueueFor(ms[0].Type))
			}
		})
	}
	// The commission notifications are public events as they are.
	ms, err := Route(ch("commission", OpInsert, "", `{"id":"com_1","status":"pending"}`))
	if err != nil || len(ms) != 1 {
		t.Fatalf("Route(commission insert) = %+v, %v", ms, err)
	}
	if typ, data, ok := PublicEvent(ms[0]); !ok || typ != "commission.created" || string(data) != `{"id":"com_1","status":"pending"}` {
		t.Fatalf("PublicEvent(commission.created) = %q, %s, %v", typ, data, ok)
	}
	if _, _, ok := PublicEvent(Message{Type: TypeConversionRecorded}); ok {
		t.Fatal("calculator work read as a public event")
	}
}
