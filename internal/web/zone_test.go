package web

import (
	"testing"
	"time"
)

// TestDatesAreToldInTheOrganizationsTimeZone: instants (created, paid,
// occurred) are dates and times of the organization's zone; calendar
// dates (a program's start, a deal's expected close: midnight UTC of
// that day) stay the day they are.
func TestDatesAreToldInTheOrganizationsTimeZone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	f := view{zone: ny}
	late := time.Date(2026, 12, 7, 2, 30, 0, 0, time.UTC) // 6 Dec, 21:30 in New York
	if got := f.date(late); got != "6 Dec 2026" {
		t.Errorf("date: %q", got)
	}
	if got := f.datep(&late); got != "6 Dec 2026" {
		t.Errorf("datep: %q", got)
	}
	if got := f.datetime(late); got != "6 Dec 2026 21:30 EST" {
		t.Errorf("datetime: %q", got)
	}
	if got := f.date(time.Time{}); got != "—" {
		t.Errorf("no date: %q", got)
	}
	day := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	if got := dayText(day); got != "7 Dec 2026" {
		t.Errorf("day: %q", got)
	}
}
