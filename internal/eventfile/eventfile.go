// Package eventfile loads sample Lambda events (events/*.json) and fills in
// their ${VAR} placeholders, so one event file serves `make invoke` (values
// from the environment) and the Lambda-event tests (values from the test).
//
// A placeholder is ${NAME} where NAME is a letter or underscore followed by
// letters, digits or underscores. Any other "$" is left as it is (API Gateway
// events contain "$default"). Every placeholder must have a non-empty value;
// otherwise Load fails with a *MissingError naming all the missing variables.
//
// Substitution is JSON-aware: when the file is valid JSON, values are
// substituted inside string literals and re-escaped, and a string that is
// itself a JSON document (an API Gateway "body") is processed recursively.
// A value holding quotes or backslashes (a password, say) therefore still
// yields valid JSON at every level. Files that are not valid JSON get plain
// text substitution.
package eventfile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
)

// placeholder matches ${NAME}.
var placeholder = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// MissingError reports placeholders that have no value.
type MissingError struct {
	Path  string   // the event file, empty for Expand
	Names []string // sorted, without duplicates
}

func (e *MissingError) Error() string {
	var b strings.Builder
	b.WriteString("eventfile: ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	if len(e.Names) == 1 {
		fmt.Fprintf(&b, "placeholder ${%s} has no value: set the environment variable %s", e.Names[0], e.Names[0])
		return b.String()
	}
	refs := make([]string, len(e.Names))
	for i, n := range e.Names {
		refs[i] = "${" + n + "}"
	}
	fmt.Fprintf(&b, "placeholders %s have no value: set the environment variables %s",
		strings.Join(refs, ", "), strings.Join(e.Names, ", "))
	return b.String()
}

// Load reads the event file at path and replaces every ${VAR} placeholder
// with lookup(VAR). Pass os.LookupEnv to take values from the environment.
func Load(path string, lookup func(string) (string, bool)) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("eventfile: %w", err)
	}
	out, err := Expand(data, lookup)
	if err != nil {
		if m, ok := err.(*MissingError); ok {
			m.Path = path
		}
		return nil, err
	}
	return out, nil
}

// Expand replaces the ${VAR} placeholders of data as Load does.
func Expand(data []byte, lookup func(string) (string, bool)) ([]byte, error) {
	names := Placeholders(data)
	if len(names) == 0 {
		return data, nil
	}
	var missing []string
	for _, n := range names {
		if v, ok := lookup(n); !ok || v == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, &MissingError{Names: missing}
	}
	if json.Valid(data) {
		return expandJSON(data, lookup)
	}
	return expandText(data, lookup), nil
}

// Placeholders returns the names of the placeholders in data, sorted and
// without duplicates. Escaped JSON does not hide them: "${X}" is found in a
// string nested inside another string as well.
func Placeholders(data []byte) []string {
	seen := map[string]bool{}
	for _, m := range placeholder.FindAllSubmatch(data, -1) {
		seen[string(m[1])] = true
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func expandText(data []byte, lookup func(string) (string, bool)) []byte {
	return placeholder.ReplaceAllFunc(data, func(m []byte) []byte {
		v, _ := lookup(string(m[2 : len(m)-1]))
		return []byte(v)
	})
}

// expandJSON copies the valid JSON document data, replacing each string
// literal that contains a placeholder by the JSON encoding of its expanded
// value. Everything else (layout, key order, numbers) is kept byte for byte.
func expandJSON(data []byte, lookup func(string) (string, bool)) ([]byte, error) {
	var out bytes.Buffer
	out.Grow(len(data))
	for i := 0; i < len(data); {
		c := data[i]
		if c != '"' {
			out.WriteByte(c)
			i++
			continue
		}
		end := stringEnd(data, i)
		lit := data[i:end]
		i = end
		if !placeholder.Match(lit) {
			out.Write(lit)
			continue
		}
		var s string
		if err := json.Unmarshal(lit, &s); err != nil {
			return nil, fmt.Errorf("eventfile: decoding string literal: %w", err)
		}
		if !placeholder.MatchString(s) {
			out.Write(lit)
			continue
		}
		expanded, err := expandString(s, lookup)
		if err != nil {
			return nil, err
		}
		if err := writeJSONString(&out, expanded); err != nil {
			return nil, err
		}
	}
	return out.Bytes(), nil
}

// expandString expands the placeholders of one decoded string. A string that
// is itself a JSON object or array is expanded as JSON, so that values are
// escaped for the inner document too.
func expandString(s string, lookup func(string) (string, bool)) (string, error) {
	t := strings.TrimSpace(s)
	if (strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[")) && json.Valid([]byte(s)) {
		b, err := expandJSON([]byte(s), lookup)
		return string(b), err
	}
	return string(expandText([]byte(s), lookup)), nil
}

// stringEnd returns the index just past the JSON string literal that starts
// at data[start] == '"'. data is known to be valid JSON.
func stringEnd(data []byte, start int) int {
	for i := start + 1; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(data)
}

func writeJSONString(out *bytes.Buffer, s string) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("eventfile: encoding string: %w", err)
	}
	out.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
	return nil
}
