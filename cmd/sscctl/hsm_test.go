package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/keysystem"
)

// TestHSMStep1Interactive plays the key system: it reads the Step-1 line
// printed by `hsm step1`, answers with the software HSM on stdin, and the
// same process finishes the read (same card transaction).
func TestHSMStep1Interactive(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	var errb strings.Builder
	code := make(chan int, 1)
	go func() {
		code <- runSimOnly(t, []string{"--reader", "sim", "hsm", "step1"}, inR, outW, &errb)
		outW.Close()
	}()
	out := bufio.NewReader(outR)
	line, err := out.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	st, err := sscard.ParseStep1(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("step 1 line %q: %v", line, err)
	}
	ans, err := keysystem.SIM{}.Authenticate(t.Context(), st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(inW, ans.String()+"\n"); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(out)
	if err != nil {
		t.Fatal(err)
	}
	if c := <-code; c != 0 {
		t.Fatalf("exit %d: %s", c, errb.String())
	}
	if !strings.Contains(string(rest), "card number               A12345678") {
		t.Errorf("output:\n%s", rest)
	}
}

// runSimOnly runs the CLI in-process with the software card as the only
// backend, so that libpcsclite is never touched (it caches its socket path
// for the whole test binary).
func runSimOnly(t *testing.T, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, newBackends: simOnlyBackends}
	root := a.rootCommand()
	root.SetArgs(args)
	if err := root.ExecuteContext(t.Context()); err != nil {
		fmt.Fprintf(stderr, "sscctl: %s\n", oneLine(err))
		return exitFailure
	}
	return 0
}
