package eventfile

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func mapLookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadSubstitutesAndKeepsLayout(t *testing.T) {
	const in = `{
  "routeKey": "GET /r/{code}",
  "rawPath": "/r/${CODE}",
  "headers": {"authorization": "Bearer ${TOKEN}"},
  "requestContext": {"stage": "$default", "timeEpoch": 1767225600000},
  "body": "{\"email\":\"${EMAIL}\",\"password\":\"${PASSWORD}\"}",
  "isBase64Encoded": false
}`
	p := writeFile(t, in)
	got, err := Load(p, mapLookup(map[string]string{
		"CODE": "ab12", "TOKEN": "tok", "EMAIL": "a@example.com", "PASSWORD": "p4ss",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.NewReplacer("${CODE}", "ab12", "${TOKEN}", "tok",
		"${EMAIL}", "a@example.com", "${PASSWORD}", "p4ss").Replace(in)
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestExpandEscapesValuesAtEveryLevel(t *testing.T) {
	in := []byte(`{"path":"/x/${V}","body":"{\"password\":\"${V}\"}"}`)
	value := `a"b\c</>`
	got, err := Expand(in, mapLookup(map[string]string{"V": value}))
	if err != nil {
		t.Fatal(err)
	}
	var outer struct{ Path, Body string }
	if err := json.Unmarshal(got, &outer); err != nil {
		t.Fatalf("outer not JSON: %v\n%s", err, got)
	}
	if outer.Path != "/x/"+value {
		t.Errorf("path = %q", outer.Path)
	}
	var inner struct{ Password string }
	if err := json.Unmarshal([]byte(outer.Body), &inner); err != nil {
		t.Fatalf("body not JSON: %v\n%s", err, outer.Body)
	}
	if inner.Password != value {
		t.Errorf("password = %q, want %q", inner.Password, value)
	}
}

func TestExpandMissingNamesEveryVariable(t *testing.T) {
	in := []byte(`{"a":"${TOKEN}","b":"${CODE}","c":"${TOKEN}","d":"${SET}","e":"${EMPTY}"}`)
	_, err := Expand(in, mapLookup(map[string]string{"SET": "x", "EMPTY": ""}))
	var m *MissingError
	if !errors.As(err, &m) {
		t.Fatalf("err = %v, want *MissingError", err)
	}
	if want := []string{"CODE", "EMPTY", "TOKEN"}; !reflect.DeepEqual(m.Names, want) {
		t.Errorf("names = %v, want %v", m.Names, want)
	}
	for _, n := range m.Names {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error %q does not name %s", err, n)
		}
	}
}

func TestLoadMissingErrorNamesFileAndVariable(t *testing.T) {
	p := writeFile(t, `{"rawPath":"/r/${CODE}"}`)
	_, err := Load(p, mapLookup(nil))
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "CODE") {
		t.Fatalf("err = %v, want one naming %s and CODE", err, p)
	}
}

func TestExpandLeavesOtherDollarsAlone(t *testing.T) {
	in := []byte(`{"stage":"$default","x":"$HOME","y":"${lower_ok}","z":"${1BAD}","w":"$"}`)
	got, err := Expand(in, mapLookup(map[string]string{"lower_ok": "v"}))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"stage":"$default","x":"$HOME","y":"v","z":"${1BAD}","w":"$"}`
	if string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestExpandWithoutPlaceholdersReturnsInput(t *testing.T) {
	in := []byte(`{"version":"2.0"}`)
	got, err := Expand(in, func(string) (string, bool) { t.Fatal("lookup called"); return "", false })
	if err != nil || string(got) != string(in) {
		t.Fatalf("got %s, %v", got, err)
	}
}

func TestExpandNonJSONUsesText(t *testing.T) {
	in := []byte(`{"days": ${DAYS}, "name": "${NAME}"}`)
	got, err := Expand(in, mapLookup(map[string]string{"DAYS": "30", "NAME": "n"}))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"days": 30, "name": "n"}`; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestExpandDoesNotRescanValues(t *testing.T) {
	in := []byte(`{"a":"${A}"}`)
	got, err := Expand(in, mapLookup(map[string]string{"A": "${B}"}))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":"${B}"}`; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestLoadUnreadableFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.json"), mapLookup(nil))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want not exist", err)
	}
}

func TestPlaceholders(t *testing.T) {
	got := Placeholders([]byte(`"${B}" "${A}" "\"${B}\"" "$C" "${}"`))
	if want := []string{"A", "B"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// The sample events of the repository must be valid JSON with every
// placeholder filled, and stay valid JSON after substitution.
func TestRepositoryEvents(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "events", "*.json"))
	if len(files) == 0 {
		t.Fatal("no events/*.json: every function needs a sample event")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(raw) {
				t.Fatalf("%s is not valid JSON", f)
			}
			got, err := Load(f, func(k string) (string, bool) { return `v"\` + k, true })
			if err != nil {
				t.Fatal(err)
			}
			var ev struct {
				Body string `json:"body"`
			}
			if err := json.Unmarshal(got, &ev); err != nil {
				t.Fatalf("expanded event is not JSON: %v", err)
			}
			if ev.Body != "" && !json.Valid([]byte(ev.Body)) {
				t.Fatalf("expanded body is not JSON: %s", ev.Body)
			}
		})
	}
}

// FuzzExpand: whatever the values, expanding a valid JSON event gives valid
// JSON, and a body that was a JSON document stays one.
func FuzzExpand(f *testing.F) {
	f.Add(`{"rawPath":"/r/${CODE}","body":"{\"code\":\"${CODE}\"}"}`, "spring26")
	f.Add(`{"a":["${CODE}",1,true,null,{"b":"x${CODE}y"}]}`, `"\`)
	f.Add(`"${CODE}"`, "\x00\u2028</script>")
	f.Fuzz(func(t *testing.T, doc, value string) {
		if !json.Valid([]byte(doc)) || value == "" {
			return
		}
		got, err := Expand([]byte(doc), func(string) (string, bool) { return value, true })
		if err != nil {
			t.Fatalf("Expand(%q): %v", doc, err)
		}
		if !json.Valid(got) {
			t.Fatalf("Expand(%q, %q) = %q: not JSON", doc, value, got)
		}
	})
}
