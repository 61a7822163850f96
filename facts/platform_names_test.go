package facts

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestPlatformNamesListsEveryPlatform: a Platform… constant missing from
// PlatformNames would escape the tests that every platform gets its own advice.
func TestPlatformNamesListsEveryPlatform(t *testing.T) {
	file, err := parser.ParseFile(token.NewFileSet(), "facts.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var consts []string
	for _, decl := range file.Decls {
		d, ok := decl.(*ast.GenDecl)
		if !ok || d.Tok != token.CONST {
			continue
		}
		for _, spec := range d.Specs {
			v := spec.(*ast.ValueSpec)
			for i, name := range v.Names {
				if !strings.HasPrefix(name.Name, "Platform") || i >= len(v.Values) {
					continue
				}
				lit, ok := v.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("%s is not a string literal", name.Name)
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				consts = append(consts, s)
				if !slices.Contains(PlatformNames, s) {
					t.Errorf("PlatformNames lacks %s (%q)", name.Name, s)
				}
			}
		}
	}
	if len(consts) != len(PlatformNames) {
		t.Errorf("PlatformNames = %q, but the constants are %q", PlatformNames, consts)
	}
}
