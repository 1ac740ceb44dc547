// Package api holds the OpenAPI 3.1 document of the public HTTP API, embedded
// so the server can serve it (GET /openapi.yaml) and tests can hold it to the
// route table.
package api

// It imports nothing but embed: every HTTP function serves routes that
// import it, so parsing the document (package apiops, for the tests) stays
// out of them, YAML parser and its package initialisation included.
import _ "embed"

// Spec is the OpenAPI document, as YAML.
//
//go:embed openapi.yaml
var Spec []byte
