package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sscard/ssc/sscd"
)

// TestLogJSON runs the daemon in-process with --log-format json and
// --log-level debug: every line of stderr is a JSON record, the start is
// logged with the socket as an attribute, and operations appear at debug
// level with their code.
func TestLogJSON(t *testing.T) {
	dir, err := os.MkdirTemp("", "sscd")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "sscd.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr bytes.Buffer // read only after run returned
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--sim", "--socket", sock, "--log-format", "json", "--log-level", "debug"}, io.Discard, &stderr)
	}()
	c := sscd.Dial(sock)
	defer c.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := c.Health(ctx); err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("run: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("not serving after 20 s\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}

	var serving, op bool
	for _, line := range bytes.Split(bytes.TrimSpace(stderr.Bytes()), []byte("\n")) {
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("stderr line %q is not JSON: %v", line, err)
		}
		switch {
		case rec["msg"] == "serving" && rec["socket"] == sock && rec["level"] == "INFO":
			serving = true
		case rec["msg"] == "operation" && rec["op"] == "health" && rec["code"] == "ok" && rec["level"] == "DEBUG":
			op = true
		}
	}
	if !serving || !op {
		t.Errorf("serving logged %v, health operation logged %v:\n%s", serving, op, stderr.String())
	}
}
