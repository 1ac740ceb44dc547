package app_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestFunctionsLinkOnlyWhatTheyUse: no Lambda function links the SQLite
// engine (the embedded store is the one-process server's), and only the
// functions that serve statements (portal, web) link the PDF library
// (internal/portal/statementpdf registers it). scripts/lambda-footprint.sh
// prints sizes and init times.
func TestFunctionsLinkOnlyWhatTheyUse(t *testing.T) {
	dirs, err := filepath.Glob("../../functions/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no functions found: %v", err)
	}
	pdf := []string{"portal", "web"}
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		name := filepath.Base(dir)
		out, err := exec.Command("go", "list", "-deps", "./"+filepath.ToSlash(dir)).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", dir, err, out)
		}
		deps := strings.Fields(string(out))
		if slices.Contains(deps, "modernc.org/sqlite") {
			t.Errorf("functions/%s links modernc.org/sqlite", name)
		}
		if got, want := slices.Contains(deps, "github.com/go-pdf/fpdf"), slices.Contains(pdf, name); got != want {
			t.Errorf("functions/%s links the PDF library: %v, want %v", name, got, want)
		}
	}
}
