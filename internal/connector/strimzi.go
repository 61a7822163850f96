package connector

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// parseStrimzi reads a Strimzi KafkaConnector resource (YAML; the file may
// hold other documents, as a kustomization does): spec.class is the
// connector class and spec.config its properties. Strimzi's
// ${secrets:ns/name:key} and ${configmaps:…} placeholders, like any
// config provider's, stay unresolved.
func parseStrimzi(path string, data []byte) (*Config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var found []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, yamlErr(path, err)
		}
		if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			continue
		}
		root := doc.Content[0]
		if k := mapGet(root, "kind"); k != nil && k.Value == "KafkaConnector" {
			found = append(found, root)
		}
	}
	switch len(found) {
	case 0:
		return nil, fileErr(path, 0, "no KafkaConnector resource (kind: KafkaConnector) in the file")
	case 1:
	default:
		var names []string
		for _, r := range found {
			names = append(names, fmt.Sprintf("%s (line %d)", resourceName(r), r.Line))
		}
		return nil, fileErr(path, found[1].Line, "%d KafkaConnector resources (%s): give a file with the one to judge",
			len(found), strings.Join(names, ", "))
	}
	root := found[0]
	c := &Config{Format: FormatStrimzi, Flavour: "debezium", Name: resourceName(root), Line: root.Line}
	spec := mapGet(root, "spec")
	if spec == nil || spec.Kind != yaml.MappingNode {
		return nil, fileErr(path, root.Line, "the KafkaConnector has no spec")
	}
	if cls := mapGet(spec, "class"); cls != nil {
		if cls.Kind != yaml.ScalarNode {
			return nil, fileErr(path, cls.Line, "spec.class must be a string")
		}
		c.put("connector.class", Value{Key: "spec.class", Text: cls.Value, Line: cls.Line})
	}
	if tm := mapGet(spec, "tasksMax"); tm != nil && tm.Kind == yaml.ScalarNode {
		c.put("tasks.max", Value{Key: "spec.tasksMax", Text: tm.Value, Line: tm.Line})
	}
	cfg := mapGet(spec, "config")
	if cfg == nil {
		return c, nil
	}
	if cfg.Kind != yaml.MappingNode {
		return nil, fileErr(path, cfg.Line, "spec.config must be a map of properties")
	}
	for i := 0; i+1 < len(cfg.Content); i += 2 {
		k, v := cfg.Content[i], cfg.Content[i+1]
		if v.Kind == yaml.AliasNode && v.Alias != nil {
			v = v.Alias
		}
		if v.Kind != yaml.ScalarNode {
			return nil, fileErr(path, v.Line, "spec.config.%s must be a string, number or boolean", k.Value)
		}
		if v.Tag == "!!null" {
			continue
		}
		c.put(k.Value, Value{Key: k.Value, Text: v.Value, Line: k.Line})
	}
	return c, nil
}

func mapGet(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func resourceName(root *yaml.Node) string {
	if n := mapGet(mapGet(root, "metadata"), "name"); n != nil {
		return n.Value
	}
	return "(unnamed)"
}

var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

// yamlErr words a YAML syntax error with its line. yaml.v3's messages can
// quote the offending text; only the scanner's and parser's descriptions
// are kept, so that a secret on that line is not repeated.
func yamlErr(path string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	if i := strings.IndexAny(msg, "`'\""); i >= 0 {
		msg = strings.TrimSpace(msg[:i])
	}
	return fileErr(path, line, "invalid YAML: %s", msg)
}
