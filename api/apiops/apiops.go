// Package apiops lists the operations of the OpenAPI document (package
// api), for the tests that hold it to the route table. It is apart from
// package api so that the functions serving the document do not link the
// YAML parser.
package apiops

import (
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/partnerloop/partnerloop/api"
)

// Operation is one method and path of the document, e.g. {"GET", "/v1/programs/{id}"}.
type Operation struct {
	Method string // upper case
	Path   string // with {param} segments, as in the document
	// Public is true when the operation declares no security (security: []).
	Public bool
	// Description is the operation's description; it names the roles that
	// may call it on a line "Roles: admin, program_manager."
	Description string
}

// httpMethods are the keys of an OpenAPI path item that name operations.
var httpMethods = map[string]bool{
	"get": true, "put": true, "post": true, "delete": true,
	"options": true, "head": true, "patch": true, "trace": true,
}

// Operations returns every operation of the document, sorted by path and
// then method.
func Operations() ([]Operation, error) {
	var doc struct {
		Paths map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(api.Spec, &doc); err != nil {
		return nil, fmt.Errorf("api: parse openapi.yaml: %w", err)
	}
	var ops []Operation
	for path, item := range doc.Paths {
		for key, node := range item {
			if !httpMethods[key] {
				continue
			}
			var op struct {
				Description string           `yaml:"description"`
				Security    []map[string]any `yaml:"security"`
			}
			if err := node.Decode(&op); err != nil {
				return nil, fmt.Errorf("api: %s %s: %w", key, path, err)
			}
			ops = append(ops, Operation{Method: strings.ToUpper(key), Path: path,
				Public: op.Security != nil && len(op.Security) == 0, Description: op.Description})
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].Path != ops[j].Path {
			return ops[i].Path < ops[j].Path
		}
		return ops[i].Method < ops[j].Method
	})
	return ops, nil
}
