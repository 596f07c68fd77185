package main

import (
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// Every string in the OpenAPI document states its maximum length, so a client knows
// the limit the binder holds it to (the DTO's maxlen tag, else httpx.DefaultMaxLen);
// TestEdgeContract (checkContract) then holds each documented request field to it.
func TestEveryDocumentedStringHasAMaxLength(t *testing.T) {
	t.Parallel()
	var doc yaml.Node
	if err := yaml.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	var missing []string
	var walk func(n *yaml.Node, path []string)
	walk = func(n *yaml.Node, path []string) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			isString, hasMax := false, false
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i].Value, n.Content[i+1]
				if k == "type" && v.Value == "string" {
					isString = true
				}
				if k == "maxLength" {
					hasMax = true
				}
				walk(v, append(path, k))
			}
			if isString && !hasMax {
				missing = append(missing, strings.Join(path, ".")+" (line "+strconv.Itoa(n.Line)+")")
			}
		}
	}
	walk(&doc, nil)
	if len(missing) > 0 {
		t.Fatalf("%d strings in openapi.yaml have no maxLength:\n%s", len(missing), strings.Join(missing, "\n"))
	}
}
