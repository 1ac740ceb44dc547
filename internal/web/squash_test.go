package web_test

import "regexp"

// squash is HTML without the whitespace between tags, for tests that
// look for a run of elements however the page is indented.
func squash(s string) string { return betweenTags.ReplaceAllString(s, "><") }

var betweenTags = regexp.MustCompile(`>\s+<`)
