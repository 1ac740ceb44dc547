package storetest

import (
	"fmt"
	"reflect"
	"time"
)

var timeType = reflect.TypeFor[time.Time]()

// diff compares two values of the same type field by field and returns one
// line per difference, named by its path ("RuleVersions[1].Rule.Tiers[2].UpTo").
// time.Time values are compared with Equal (the same instant in any
// location), and a nil slice equals an empty one, since adapters that store
// lists as JSON or as sets cannot always tell them apart. Everything else,
// including nil against non-nil pointers, must match exactly.
func diff(want, got any) []string {
	var out []string
	diffValue(&out, "", reflect.ValueOf(want), reflect.ValueOf(got))
	return out
}

func diffValue(out *[]string, path string, w, g reflect.Value) {
	report := func() {
		*out = append(*out, fmt.Sprintf("%s: got %s, want %s", orRoot(path), show(g), show(w)))
	}
	if w.Type() == timeType {
		if !w.Interface().(time.Time).Equal(g.Interface().(time.Time)) {
			report()
		}
		return
	}
	switch w.Kind() {
	case reflect.Pointer, reflect.Interface:
		if w.IsNil() || g.IsNil() {
			if w.IsNil() != g.IsNil() {
				report()
			}
			return
		}
		diffValue(out, path, w.Elem(), g.Elem())
	case reflect.Struct:
		for i := range w.NumField() {
			f := w.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			diffValue(out, join(path, f.Name), w.Field(i), g.Field(i))
		}
	case reflect.Slice, reflect.Array:
		if w.Len() != g.Len() {
			*out = append(*out, fmt.Sprintf("%s: got %d elements %s, want %d elements %s", orRoot(path), g.Len(), show(g), w.Len(), show(w)))
			return
		}
		for i := range w.Len() {
			diffValue(out, fmt.Sprintf("%s[%d]", path, i), w.Index(i), g.Index(i))
		}
	case reflect.Map:
		if w.Len() != g.Len() {
			report()
			return
		}
		for _, k := range w.MapKeys() {
			gv := g.MapIndex(k)
			if !gv.IsValid() {
				report()
				return
			}
			diffValue(out, fmt.Sprintf("%s[%v]", path, k), w.MapIndex(k), gv)
		}
	default:
		if !reflect.DeepEqual(w.Interface(), g.Interface()) {
			report()
		}
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func orRoot(path string) string {
	if path == "" {
		return "value"
	}
	return path
}

// show formats a value for a failure message, dereferencing pointers and
// printing times in UTC RFC 3339 with nanoseconds.
func show(v reflect.Value) string {
	if !v.IsValid() {
		return "<invalid>"
	}
	if v.Type() == timeType {
		t := v.Interface().(time.Time)
		return t.UTC().Format(time.RFC3339Nano) + " (" + t.Location().String() + ")"
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "nil"
		}
		return "&" + show(v.Elem())
	case reflect.String:
		return fmt.Sprintf("%q", v.String())
	}
	return fmt.Sprintf("%+v", v.Interface())
}
