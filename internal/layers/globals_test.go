package layers

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// allowedGlobals are exported package-level vars this test tolerates, as
// "package.Name", each with the reason. None today.
var allowedGlobals = map[string]bool{}

// TestNoExportedMutableGlobals fails for every exported package-level var
// of the library packages (everything but internal/, cmd/ and examples/)
// that is not a sentinel error: a caller could overwrite it for the whole
// process. Such values are constants, or functions returning a copy.
func TestNoExportedMutableGlobals(t *testing.T) {
	root := moduleRoot(t)
	var bad []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		name := d.Name()
		if rel != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor" ||
			rel == "internal" || rel == "cmd" || rel == "examples" || strings.Contains("/"+rel+"/", "/internal/")) {
			return filepath.SkipDir
		}
		bad = append(bad, dirGlobals(t, path, rel)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(bad)
	var left []string
	for _, b := range bad {
		if !allowedGlobals[b] {
			left = append(left, b)
		}
	}
	if len(left) > 0 {
		t.Errorf("exported package-level vars that are not sentinel errors (make them constants or functions returning a copy):\n\t%s",
			strings.Join(left, "\n\t"))
	}
	for name := range allowedGlobals {
		if !contains(bad, name) {
			t.Errorf("%s is in allowedGlobals but is no longer an exported var: remove it from the list", name)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// dirGlobals returns the offending vars of the non-test, non-main package
// in dir as "rel.Name" (rel is the directory relative to the module root).
func dirGlobals(t *testing.T, dir, rel string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var out []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name.Name == "main" {
			return nil
		}
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if !id.IsExported() || isSentinelError(vs, i) {
						continue
					}
					out = append(out, rel+"."+id.Name)
				}
			}
		}
	}
	return out
}

// isSentinelError reports whether the i-th var of vs is an error: declared
// with type error, or initialised with errors.New, fmt.Errorf or
// errors.Join.
func isSentinelError(vs *ast.ValueSpec, i int) bool {
	if id, ok := vs.Type.(*ast.Ident); ok && id.Name == "error" {
		return true
	}
	if i >= len(vs.Values) {
		return false
	}
	call, ok := vs.Values[i].(*ast.CallExpr)
	if !ok {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	if !ok {
		return false
	}
	switch pkg.Name + "." + sel.Sel.Name {
	case "errors.New", "fmt.Errorf", "errors.Join":
		return true
	}
	return false
}

// moduleRoot is the directory holding go.mod above the test's directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}
