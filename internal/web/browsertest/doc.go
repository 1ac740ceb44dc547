// Package browsertest drives Debian's Chromium (chromedp) against the whole
// one-process application on a loopback test server: the web UI as people
// use it, failing on any console error or uncaught exception, and saving
// screenshots of the main pages for review (.artifacts/screenshots, or
// $SCREENSHOT_DIR). Its tests live in browser_test.go.
package browsertest
