// Package samtemplate reads the HTTP API routes of template.yaml's
// functions, for the tests that hold the code to the template (the API's
// route table in internal/httpapi, the web UI's page groups in
// internal/app).
package samtemplate

import (
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Route is one HttpApi event of a function: its method ("ANY" for every
// method) and path ("$default" for API Gateway's default route).
type Route struct{ Method, Path string }

// HTTPRoutes returns the HttpApi routes of every AWS::Serverless::Function
// of the SAM template at path, by the function's logical ID.
func HTTPRoutes(path string) (map[string][]Route, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, err
	}
	StripTags(&root)
	var tpl struct {
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				Events map[string]struct {
					Type       string `yaml:"Type"`
					Properties struct {
						Method string `yaml:"Method"`
						Path   string `yaml:"Path"`
					} `yaml:"Properties"`
				} `yaml:"Events"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := root.Decode(&tpl); err != nil {
		return nil, err
	}
	fns := map[string][]Route{}
	for id, res := range tpl.Resources {
		if res.Type != "AWS::Serverless::Function" {
			continue
		}
		fns[id] = []Route{}
		for _, ev := range res.Properties.Events {
			if ev.Type == "HttpApi" {
				fns[id] = append(fns[id], Route{ev.Properties.Method, ev.Properties.Path})
			}
		}
	}
	return fns, nil
}

// StripTags drops CloudFormation's short-form tags (!Ref, !GetAtt, ...) so
// the document decodes as plain YAML.
func StripTags(n *yaml.Node) {
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		n.Tag = ""
	}
	for _, c := range n.Content {
		StripTags(c)
	}
}
