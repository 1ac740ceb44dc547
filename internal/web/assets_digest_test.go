package web

import "testing"

// The asset URLs carry assetsDigest so browsers may cache the files for
// good: a changed file with an unchanged digest would be served stale from
// every browser's cache.
func TestAssetsDigestIsCurrent(t *testing.T) {
	if got := digestAssets(assetFS); got != assetsDigest {
		t.Fatalf("the assets changed: set assetsDigest in render.go to %q", got)
	}
}
