package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// scripts/package.sh generates sscd(8) from the daemon's flags with
//
//	go test -run '^TestGenerateManPage$' ./cmd/sscd -args -docs DIR
//
// (a test, so that cobra stays out of the daemon). Without -docs the test
// generates into a temporary directory and checks the page.
var docsDir = flag.String("docs", "", "write the man page to DIR/man8")

const manDescription = `sscd owns the card readers of the machine (every PC/SC reader of pcscd, the serial GemPC readers
of the configuration and, for tests, the software card "sim") and serves applications a JSON API
on a Unix socket, /run/sscd/sscd.sock by default. Members of the socket's group may connect;
allow_uids and allow_gids narrow that further.

The configuration file (/etc/sscd/sscd.yaml in the Debian package) documents every key;
command-line flags override it. SIGHUP reloads the file; SIGTERM lets running card operations
finish and removes the socket. The systemd unit sscd.service runs the daemon as the user sscd
with the audit log in /var/log/sscd.

See /usr/share/doc/sscd/ and https://github.com/sscard/ssc/blob/main/docs/deploy.md.`

func TestGenerateManPage(t *testing.T) {
	dir := *docsDir
	if dir == "" {
		dir = t.TempDir()
	}
	date := time.Now().UTC()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("SOURCE_DATE_EPOCH: %v", err)
		}
		date = time.Unix(sec, 0).UTC()
	}
	fs, _, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cmd := &cobra.Command{Use: "sscd [flags]", Short: "social security card reader daemon", Long: manDescription,
		Run: func(*cobra.Command, []string) {}, DisableAutoGenTag: true}
	cmd.Flags().AddFlagSet(fs)
	man := filepath.Join(dir, "man8")
	if err := os.MkdirAll(man, 0o755); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	header := &doc.GenManHeader{Title: "SSCD", Section: "8", Date: &date, Source: "ssc", Manual: "ssc manual"}
	if err := doc.GenMan(cmd, header, &b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--check-config", "--version", "--config"} {
		if !bytes.Contains(b.Bytes(), []byte(want)) {
			t.Errorf("sscd.8 lacks %s", want)
		}
	}
	if err := os.WriteFile(filepath.Join(man, "sscd.8"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
