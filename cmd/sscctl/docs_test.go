package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// scripts/package.sh generates the man pages and shell completions of the
// package from the cobra commands with
//
//	go test -run '^TestGenerateDocs$' ./cmd/sscctl -args -docs DIR
//
// (a test, so that cobra/doc stays out of the binary). Without -docs the
// test generates into a temporary directory and checks the result.
var docsDir = flag.String("docs", "", "write man pages (DIR/man1) and completions (DIR/completion) here")

func TestGenerateDocs(t *testing.T) {
	dir := *docsDir
	if dir == "" {
		dir = t.TempDir()
	}
	// The defaults of some flags come from the environment: the pages must
	// show the built-in ones.
	for _, k := range []string{"SSC_READER", "SSC_SOCKET", "SSC_SIM_PROFILE", "SSC_SERIAL", "SSC_DIRECT"} {
		t.Setenv(k, "")
	}
	date := time.Now().UTC()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("SOURCE_DATE_EPOCH: %v", err)
		}
		date = time.Unix(sec, 0).UTC()
	}
	a := &app{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, newBackends: newBackends}
	root := a.rootCommand()
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpCmd()
	root.DisableAutoGenTag = true // no "auto generated" line with a date
	man := filepath.Join(dir, "man1")
	if err := os.MkdirAll(man, 0o755); err != nil {
		t.Fatal(err)
	}
	header := &doc.GenManHeader{Title: "SSCCTL", Section: "1", Date: &date, Source: "ssc", Manual: "ssc manual"}
	if err := doc.GenManTree(root, header, man); err != nil {
		t.Fatalf("man pages: %v", err)
	}
	comp := filepath.Join(dir, "completion")
	if err := os.MkdirAll(comp, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, gen := range map[string]func(*cobra.Command, io.Writer) error{
		"sscctl.bash": func(c *cobra.Command, w io.Writer) error { return c.GenBashCompletionV2(w, true) },
		"_sscctl":     func(c *cobra.Command, w io.Writer) error { return c.GenZshCompletion(w) },
		"sscctl.fish": func(c *cobra.Command, w io.Writer) error { return c.GenFishCompletion(w, true) },
	} {
		var b bytes.Buffer
		if err := gen(root, &b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(comp, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Every command has its page, and the pages show the built-in defaults.
	for _, c := range append(root.Commands(), root) {
		if !c.IsAvailableCommand() && c != root {
			continue
		}
		page := filepath.Join(man, strings.ReplaceAll(c.CommandPath(), " ", "-")+".1")
		b, err := os.ReadFile(page)
		if err != nil {
			t.Errorf("no man page for %q: %v", c.CommandPath(), err)
			continue
		}
		if c == root && !bytes.Contains(b, []byte(`--socket\fP="/run/sscd/sscd.sock"`)) {
			t.Errorf("%s: the --socket default is not the built-in one", page)
		}
	}
}
