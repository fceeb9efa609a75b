package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/internal/stack"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/reader/serial"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sscd"
)

// Exit codes: 0 success, 1 failure, 2 usage error.
const (
	exitFailure = 1
	exitUsage   = 2
)

// usageError marks errors in how the command was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// app holds the global options and what the commands share.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	readerName string
	json       bool
	trace      bool
	simProfile string
	simMode    string
	serial     []string // serial readers, PATH[:TYPE]
	socket     string   // sscd socket (--socket)
	direct     bool     // --direct: never use sscd

	root           *cobra.Command
	daemon         *sscd.Client // set once resolved and answering
	daemonResolved bool

	// newBackends builds the reader backends; tests replace it.
	newBackends func(a *app) ([]reader.Backend, error)
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, newBackends: newBackends}
	root := a.rootCommand()
	root.SetArgs(args)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := root.ExecuteContext(ctx)
	a.closeDaemon()
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "sscctl: %s\n", oneLine(err))
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		return exitUsage
	}
	return exitFailure
}

// isCobraUsage recognises cobra's own argument errors, which are plain errors.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument",
		"invalid argument", "accepts ", "requires at least", "requires at most", "required flag"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "sscctl",
		Short:         "Talk to China's third-generation social security cards",
		Long:          "sscctl talks to social security cards through PC/SC readers or the built-in software card (reader \"sim\").",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	a.root = root
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetIn(a.stdin)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVarP(&a.readerName, "reader", "r", os.Getenv("SSC_READER"), "reader name or unique substring (env SSC_READER); \"sim\" is the software card")
	pf.BoolVar(&a.json, "json", false, "print JSON")
	pf.BoolVar(&a.trace, "trace", false, "trace APDUs to stderr (PINs redacted)")
	pf.StringVar(&a.simProfile, "sim-profile", envOr("SSC_SIM_PROFILE", sim.DefaultProfile), "personalisation of the in-process software card: built-in name or file (env SSC_SIM_PROFILE)")
	pf.StringVar(&a.simMode, "sim-mode", "contact", "interface of the in-process software card: contact or contactless")
	pf.StringSliceVar(&a.serial, "serial", splitList(os.Getenv("SSC_SERIAL")), "serial CCID reader PATH[:GemPCTwin|GemPCPinPad] (repeatable; env SSC_SERIAL, comma-separated); --reader serial:PATH adds one too")
	pf.StringVar(&a.socket, "socket", envOr("SSC_SOCKET", sscd.DefaultSocket), "sscd socket: readers, watch, info, pin and hsm go through the daemon when it answers there (env SSC_SOCKET)")
	pf.BoolVar(&a.direct, "direct", os.Getenv("SSC_DIRECT") == "1", "use the readers directly even when sscd runs (env SSC_DIRECT=1)")
	root.AddCommand(a.readersCommand(), a.watchCommand(), a.atrCommand(), a.apduCommand(), a.infoCommand(), a.simCommand(),
		a.pinCommand(), a.hsmCommand(), a.pkiCommand(),
		a.photoCommand(), a.dumpCommand(), a.pbocCommand(), a.tlvCommand(), a.linkCommand(), a.issueCommand(),
		a.versionCommand())
	return root
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// system opens every backend: PC/SC, then the in-process software card.
func (a *app) system() (*reader.System, error) {
	bs, err := a.newBackends(a)
	if err != nil {
		return nil, err
	}
	return reader.Open(bs...), nil
}

// newBackends builds the backends of a run; in-process tests replace it to
// keep libpcsclite out of the test process.
var newBackends = defaultBackends

func defaultBackends(a *app) ([]reader.Backend, error) {
	mode, err := parseMode(a.simMode)
	if err != nil {
		return nil, err
	}
	bs, err := stack.Backends(stack.BackendConfig{Serial: a.serialSpecs(), SimProfile: a.simProfile, SimMode: mode})
	return bs, asUsage(err)
}

// simBackend is the in-process software card as reader "sim".
func (a *app) simBackend() (*reader.ChipBackend, error) {
	card, err := a.simCard()
	if err != nil {
		return nil, err
	}
	return stack.SimBackend(card)
}

// serialSpecs are the serial readers of --serial / SSC_SERIAL, plus the
// one --reader names with the serial: prefix.
func (a *app) serialSpecs() []string {
	specs := slices.Clone(a.serial)
	if strings.HasPrefix(a.readerName, serial.Prefix) {
		specs = append(specs, a.readerName)
	}
	return specs
}

// asUsage makes a configuration the command line got wrong (a bad serial
// spec, an unknown profile) a usage error.
func asUsage(err error) error {
	var ce *stack.ConfigError
	if errors.As(err, &ce) {
		return usageError{err}
	}
	return err
}

// reader is the --reader name to look for: a serial spec
// "serial:PATH:TYPE" names the reader "serial:PATH".
func (a *app) reader() string {
	if strings.HasPrefix(a.readerName, serial.Prefix) {
		if c, err := serial.ParseSpec(a.readerName); err == nil {
			return serial.Prefix + c.Path
		}
	}
	return a.readerName
}

// splitList splits a comma-separated environment value, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func parseMode(s string) (sim.Mode, error) {
	m, err := stack.ParseSimMode(s)
	return m, asUsage(err)
}

// loadProfile takes a built-in name or a file path (stack.SimProfile).
func loadProfile(nameOrPath string) (*sim.Profile, error) {
	p, err := stack.SimProfile(nameOrPath)
	return p, asUsage(err)
}

func (a *app) simCard() (*sim.Card, error) {
	p, err := loadProfile(a.simProfile)
	if err != nil {
		return nil, err
	}
	mode, err := parseMode(a.simMode)
	if err != nil {
		return nil, err
	}
	return sim.New(p, sim.Options{Mode: mode})
}

// tracer prints APDUs on stderr (PIN and key data redacted).
func (a *app) tracer() apdu.Tracer { return apdu.NewTextTracer(a.stderr) }

// connect opens the chosen reader's card and wraps it in a transmitter.
func (a *app) connect(ctx context.Context) (*reader.System, reader.Card, *apdu.Transmitter, error) {
	sys, err := a.system()
	if err != nil {
		return nil, nil, nil, err
	}
	card, err := sys.Connect(ctx, a.reader(), reader.ConnectOptions{})
	if err != nil {
		sys.Close()
		return nil, nil, nil, err
	}
	tx := &apdu.Transmitter{Transport: card}
	if a.trace {
		tx.Trace = a.tracer()
	}
	return sys, card, tx, nil
}
