package layers

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the import graph in docs/architecture.md")

const module = "github.com/sscard/ssc"

// allowed lists, for every package of the module, the module packages it may
// import directly. A package missing from the table fails the test: a new
// package takes a place in the layering on purpose, not by accident. The
// order is the house's direction: apdu → sm/reader → sscard/pboc → link →
// daemon → cmd.
var allowed = map[string][]string{
	"apdu": nil,
	"ccid": nil,

	"sm":         {"apdu"},
	"sm/simkeys": {"sm"},

	"reader":        {"apdu", "ccid"},
	"reader/pcsc":   {"apdu", "ccid", "reader"},
	"reader/serial": {"apdu", "ccid", "reader"},

	"sim":                   {"apdu", "sm", "sm/simkeys"},
	"sim/gempc":             {"apdu", "ccid", "sim"},
	"sim/internal/genphoto": nil,

	"sscard":           {"apdu", "ccid", "reader", "sm"},
	"sscard/keysystem": {"apdu", "sm", "sm/simkeys", "sscard"},
	"sscard/batch":     {"reader", "sscard"},
	"pboc":             {"apdu", "reader", "sm"},

	"link":            {"apdu", "sm"},
	"link/cardlink":   {"apdu", "link", "pboc", "reader", "sm", "sscard"},
	"link/redisnonce": {"link"},

	"sscd": {"apdu", "link", "reader", "sscard"},

	"internal/audit":     nil,
	"internal/metrics":   nil,
	"internal/layers":    nil,
	"internal/hostile":   nil,
	"internal/version":   nil,
	"internal/redistest": nil,
	"internal/benchplot": nil, // draws docs/readers.png (scripts/bench-readers.sh)
	"internal/scale":     nil, // tests only: many-readers benchmarks and churn test of sscd
	"internal/simtest":   {"reader", "sim"},
	"internal/pcsctest":  {"reader", "reader/pcsc", "sim"},
	"internal/stack": {"reader", "reader/pcsc", "reader/serial", "sim", "sm", "sm/simkeys", "sscard",
		"sscard/keysystem"},
	"internal/daemon": {"apdu", "internal/audit", "internal/metrics", "internal/stack", "internal/version", "link",
		"link/cardlink", "pboc", "reader", "sim", "sm", "sscard", "sscd"},

	"examples/ecardplatform":                    {"link", "sm"},
	"examples/ecardplatform/cmd/ecard-platform": {"examples/ecardplatform", "link/redisnonce", "sm", "sm/simkeys"},

	"internal/ministry": {"apdu", "internal/stack", "reader", "reader/serial", "sim", "sm", "sscard", "sscd"},

	"cmd/sscd":      {"internal/daemon", "internal/version", "reader"},
	"cmd/libsscard": {"internal/ministry", "internal/version"},
	"cmd/sscctl": {"apdu", "internal/stack", "internal/version", "link", "link/cardlink", "pboc", "reader", "reader/serial", "sim",
		"sim/gempc", "sm", "sm/simkeys", "sscard", "sscard/batch", "sscard/keysystem", "sscd"},
}

// sdk are the packages an SDK user imports. None of them may pull in a
// reader backend, the software card or cgo: a platform verifying bundles or
// a program talking to sscd must build with CGO_ENABLED=0 on any OS.
var sdk = []string{"apdu", "ccid", "sm", "reader", "sscard", "pboc", "link", "sscd"}

// forbiddenInSDK are dependencies (anywhere in the graph) that make an SDK
// package heavy or non-portable.
var forbiddenInSDK = []string{
	"github.com/ebfe/scard",
	"go.bug.st/serial",
	module + "/sim",
	module + "/reader/pcsc",
	module + "/reader/serial",
	module + "/internal/stack",
}

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// listPackages runs go list over the module (non-test imports only: a test
// may use the software card or a backend).
func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps=false", "-json=ImportPath,Imports,Deps", "./...")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "GOFLAGS=")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var ps []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("go list output: %v", err)
		}
		ps = append(ps, p)
	}
	return ps
}

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func local(path string) (string, bool) {
	if path == module {
		return ".", true
	}
	rest, ok := strings.CutPrefix(path, module+"/")
	return rest, ok
}

// moduleImports returns the direct imports of p inside the module, sorted.
func moduleImports(p pkg) []string {
	var out []string
	for _, imp := range p.Imports {
		if l, ok := local(imp); ok {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}

func TestImportLayers(t *testing.T) {
	for _, p := range listPackages(t) {
		name, _ := local(p.ImportPath)
		allow, known := allowed[name]
		if !known {
			t.Errorf("%s is not in the layering table (internal/layers/deps_test.go): give it a place", name)
			continue
		}
		for _, imp := range moduleImports(p) {
			if !slices.Contains(allow, imp) {
				t.Errorf("%s imports %s: not allowed by the layering table", name, imp)
			}
		}
		if slices.Contains(sdk, name) {
			for _, f := range forbiddenInSDK {
				if slices.Contains(p.Deps, f) {
					t.Errorf("SDK package %s depends on %s (go list -deps ./%s)", name, f, name)
				}
			}
		}
	}
}

const (
	graphBegin = "<!-- import graph: generated by `go test ./internal/layers -update`; do not edit -->"
	graphEnd   = "<!-- end of import graph -->"
)

// TestArchitectureGraph keeps the import graph in docs/architecture.md equal
// to the one go list reports.
func TestArchitectureGraph(t *testing.T) {
	var b strings.Builder
	b.WriteString("```\n")
	ps := listPackages(t)
	width := 0
	for _, p := range ps {
		name, _ := local(p.ImportPath)
		width = max(width, len(name))
	}
	for _, p := range ps {
		name, _ := local(p.ImportPath)
		imps := moduleImports(p)
		if len(imps) == 0 {
			fmt.Fprintf(&b, "%-*s   (imports nothing of ours)\n", width, name)
			continue
		}
		fmt.Fprintf(&b, "%-*s → %s\n", width, name, strings.Join(imps, ", "))
	}
	b.WriteString("```\n")
	graph := b.String()

	path := filepath.Join(repoRoot(t), "docs", "architecture.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok1 := strings.Cut(string(doc), graphBegin+"\n")
	_, after, ok2 := strings.Cut(rest, graphEnd)
	if !ok1 || !ok2 {
		t.Fatalf("docs/architecture.md lacks the graph markers %q … %q", graphBegin, graphEnd)
	}
	want := before + graphBegin + "\n" + graph + graphEnd + after
	if want == string(doc) {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("docs/architecture.md's import graph is stale; run go test ./internal/layers -update")
}
