package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

// pinSource says where PINs come from. There is deliberately no flag that
// takes a PIN as its value: command lines end up in shell histories and in
// ps output.
type pinSource struct {
	env    string // --pin-env NAME
	newEnv string // --new-pin-env NAME (commands that need a second PIN)
	stdin  bool   // --pin-stdin: one line per PIN
}

func (p *pinSource) addFlags(fs *pflag.FlagSet, second bool) {
	fs.StringVar(&p.env, "pin-env", "", "read the PIN from the environment variable `NAME`")
	if second {
		fs.StringVar(&p.newEnv, "new-pin-env", "", "read the new PIN from the environment variable `NAME`")
	}
	fs.BoolVar(&p.stdin, "pin-stdin", false, "read the PIN from the first line of stdin (one line per PIN)")
}

// given reports whether a non-interactive source was chosen.
func (p *pinSource) given() bool { return p.env != "" || p.newEnv != "" || p.stdin }

// readPINs returns one PIN per prompt (prompts[0] is the PIN of --pin-env,
// prompts[1] the one of --new-pin-env). The PINs never appear in errors.
func (a *app) readPINs(ctx context.Context, p pinSource, prompts ...string) ([]string, error) {
	envs := []string{p.env, p.newEnv}
	out := make([]string, len(prompts))
	var lines *bufio.Reader
	for i, prompt := range prompts {
		switch {
		case i < len(envs) && envs[i] != "":
			v, ok := os.LookupEnv(envs[i])
			if !ok || v == "" {
				return nil, usagef("environment variable %s (%s) is not set", envs[i], prompt)
			}
			out[i] = v
		case p.stdin:
			if lines == nil {
				lines = bufio.NewReader(a.stdin)
			}
			l, err := lines.ReadString('\n')
			if err != nil && (err != io.EOF || l == "") {
				return nil, usagef("--pin-stdin: no line for the %s on stdin", prompt)
			}
			out[i] = strings.TrimRight(l, "\r\n")
		default:
			v, err := a.promptPIN(ctx, prompt)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
	}
	return out, nil
}

// promptPIN asks on the terminal with echo off. The read runs aside so a
// cancelled context returns at once; the terminal state is restored either
// way.
func (a *app) promptPIN(ctx context.Context, prompt string) (string, error) {
	f, ok := a.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", usagef("no PIN given and stdin is not a terminal: use --pin-env NAME or --pin-stdin")
	}
	fd := int(f.Fd())
	saved, err := term.GetState(fd)
	if err != nil {
		return "", fmt.Errorf("reading the terminal state: %w", err)
	}
	defer term.Restore(fd, saved) //nolint:errcheck // best effort restore
	fmt.Fprintf(a.stderr, "%s: ", prompt)
	type res struct {
		s   string
		err error
	}
	ch := make(chan res, 1)
	go func() {
		b, err := term.ReadPassword(fd)
		ch <- res{strings.TrimRight(string(b), "\r\n"), err}
	}()
	select {
	case <-ctx.Done():
		fmt.Fprintln(a.stderr)
		return "", ctx.Err()
	case r := <-ch:
		fmt.Fprintln(a.stderr)
		if r.err != nil && r.s == "" {
			return "", errors.New("no PIN entered")
		}
		return r.s, nil
	}
}

// pinFailure turns the sscard PIN errors into short messages without PINs.
func pinFailure(what string, err error) error { return pinFailureFlag(what, "--force", err) }

// pinFailureFlag is pinFailure for a command whose last-try flag is
// forceFlag (link create's --force overwrites its output file).
func pinFailureFlag(what, forceFlag string, err error) error {
	var ae *apdu.AuthError
	var se *sscd.Error
	switch {
	case errors.Is(err, sscard.ErrPINFormat):
		return usagef("%s must be 6 digits", what)
	case errors.Is(err, sscard.ErrPINLastTry):
		return fmt.Errorf("only one %s try left: not trying without %s (a wrong PIN would block it)", what, forceFlag)
	case errors.As(err, &se) && se.Code == sscd.CodePINRateLimited:
		return fmt.Errorf("too many wrong PIN attempts on this card: sscd sends no %s to it for %d s (no try used)", what, se.RetryAfter)
	case errors.Is(err, apdu.ErrBlocked):
		return fmt.Errorf("%s blocked: it must be reset (sscctl pin reset with the update key, or at the card issuer)", what)
	case errors.As(err, &ae) && ae.Retries > 0:
		return fmt.Errorf("wrong %s, %d tries left (card returned %s)", what, ae.Retries, ae.SW)
	case errors.As(err, &ae):
		return fmt.Errorf("wrong %s (card returned %s)", what, ae.SW)
	case errors.Is(err, reader.ErrPINPadCancelled):
		return fmt.Errorf("%s entry cancelled on the reader's keypad (no try used)", what)
	case errors.Is(err, reader.ErrPINPadTimeout):
		return fmt.Errorf("%s entry timed out on the reader's keypad (no try used)", what)
	case errors.Is(err, reader.ErrNoPINPad):
		return fmt.Errorf("this reader has no PIN pad: verify without --pinpad")
	}
	return err
}

// isTerminal reports whether r is a terminal.
func isTerminal(r any) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
