// Command sscd is the reader daemon: it owns the card readers (PC/SC, serial,
// and the software card with --sim) and serves the v1 API of package sscd on
// a Unix socket. See docs/api.md and docs/deploy.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/sscard/ssc/internal/daemon"
	"github.com/sscard/ssc/internal/version"
	"github.com/sscard/ssc/reader"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "sscd:", err)
		os.Exit(1)
	}
}

// options are the command-line flags; set ones override the file.
type options struct {
	config      string
	socket      string
	group       string
	sim         string
	hsm         string
	bridgePort  int
	bridgeHTTP  bool
	origins     []string
	pinOrigins  []string
	logFormat   string
	logLevel    string
	checkConfig bool
	version     bool
}

func parseFlags(args []string, stderr io.Writer) (*pflag.FlagSet, options, error) {
	var o options
	fs := pflag.NewFlagSet("sscd", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.config, "config", "", "YAML configuration `file`")
	fs.StringVar(&o.socket, "socket", "", "Unix socket `path` (default /run/sscd/sscd.sock)")
	fs.StringVar(&o.group, "group", "", "group owning the socket")
	fs.StringVar(&o.sim, "sim", "", "add the software card reader \"sim\" with this `profile` (built-in name or file)")
	fs.Lookup("sim").NoOptDefVal = "gen3"
	fs.StringVar(&o.hsm, "hsm", "", "HSM adapter: \"sim\" or an http(s) URL")
	fs.IntVar(&o.bridgePort, "bridge-port", 0, "serve the browser bridge on 127.0.0.1 and [::1] at this `port` (0: off)")
	fs.StringArrayVar(&o.origins, "bridge-origin", nil, "web `origin` allowed to use the browser bridge (repeatable; replaces bridge.origins)")
	fs.StringArrayVar(&o.pinOrigins, "bridge-pin-origin", nil, "web `origin` (also a --bridge-origin) whose pages may present a PIN through the bridge (repeatable; replaces bridge.pin_origins)")
	fs.BoolVar(&o.bridgeHTTP, "bridge-allow-http-localhost", false, "allow http:// loopback origins on the bridge (development)")
	fs.StringVar(&o.logFormat, "log-format", "", "log `format` on stderr: text or json (default text)")
	fs.StringVar(&o.logLevel, "log-level", "", "least `level` logged: debug, info, warn or error (default info)")
	fs.BoolVar(&o.checkConfig, "check-config", false, "check the configuration and exit")
	fs.BoolVar(&o.version, "version", false, "print the version and commit and exit")
	err := fs.Parse(args)
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return fs, o, err
}

// config merges the file and the flags.
func config(fs *pflag.FlagSet, o options) (daemon.Config, error) {
	var cfg daemon.Config
	if o.config != "" {
		var err error
		if cfg, err = daemon.LoadConfig(o.config); err != nil {
			return cfg, err
		}
	}
	if fs.Changed("socket") {
		cfg.Socket = o.socket
	}
	if fs.Changed("group") {
		cfg.Group = o.group
	}
	if fs.Changed("sim") {
		cfg.Sim = o.sim
	}
	if fs.Changed("hsm") {
		cfg.HSM = o.hsm
	}
	if fs.Changed("bridge-port") {
		cfg.Bridge.Port = o.bridgePort
	}
	if fs.Changed("bridge-allow-http-localhost") {
		cfg.Bridge.AllowHTTPLocalhost = o.bridgeHTTP
	}
	if fs.Changed("bridge-origin") {
		cfg.Bridge.Origins = o.origins
	}
	if fs.Changed("bridge-pin-origin") {
		cfg.Bridge.PINOrigins = o.pinOrigins
	}
	if fs.Changed("log-format") {
		cfg.LogFormat = o.logFormat
	}
	if fs.Changed("log-level") {
		cfg.LogLevel = o.logLevel
	}
	cfg = cfg.WithDefaults()
	return cfg, cfg.Validate()
}

// reload reads the configuration again (file, then the same flags) and
// applies it; a bad file leaves the running configuration as it is. The
// log level is the logger's, so it is applied here.
func reload(d *daemon.Daemon, fs *pflag.FlagSet, o options, logger *slog.Logger, level *slog.LevelVar) {
	cfg, err := config(fs, o)
	if err != nil {
		logger.Error("reload failed, configuration unchanged", "err", oneLine(err))
		return
	}
	restart, err := d.Reload(cfg)
	if err != nil {
		logger.Error("reload failed, configuration unchanged", "err", oneLine(err))
		return
	}
	lv, _ := daemon.ParseLogLevel(cfg.LogLevel) // checked by config
	level.Set(lv)
	if len(restart) > 0 {
		logger.Warn("reloaded; some settings change only at a restart", "restart", strings.Join(restart, ", "))
		return
	}
	logger.Info("reloaded")
}

func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

// run is main with its environment, so tests can drive it; it returns after
// SIGINT/SIGTERM (or ctx done) and a graceful shutdown.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, o, err := parseFlags(args, stderr)
	if errors.Is(err, pflag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if o.version {
		fmt.Fprintln(stdout, "sscd", version.Get())
		return nil
	}
	cfg, err := config(fs, o)
	if err != nil {
		return err
	}
	if o.checkConfig {
		if cfg.Bridge.Port != 0 {
			issue := ""
			if len(cfg.Bridge.PINOrigins) > 0 {
				issue += ", PINs for " + strings.Join(cfg.Bridge.PINOrigins, " ")
			}
			if len(cfg.Bridge.IssueOrigins) > 0 {
				issue += ", issuance for " + strings.Join(cfg.Bridge.IssueOrigins, " ")
			}
			fmt.Fprintf(stdout, "configuration OK (socket %s, browser bridge http://127.0.0.1:%d for %s%s)\n",
				cfg.Socket, cfg.Bridge.Port, strings.Join(cfg.Bridge.Origins, " "), issue)
			return nil
		}
		fmt.Fprintf(stdout, "configuration OK (socket %s)\n", cfg.Socket)
		return nil
	}
	backends, err := cfg.Backends()
	if err != nil {
		return err
	}
	level := new(slog.LevelVar)
	lv, _ := daemon.ParseLogLevel(cfg.LogLevel) // checked by config
	level.Set(lv)
	logger, err := daemon.NewLogger(stderr, cfg.LogFormat, level)
	if err != nil {
		return err
	}
	cfg.Logger = logger
	d, err := daemon.New(cfg, reader.Open(backends...))
	if err != nil {
		return err
	}
	l, err := daemon.Listen(cfg.Socket, cfg.Group)
	if err != nil {
		d.Shutdown(context.Background())
		return err
	}
	var bridge []net.Listener
	if cfg.Bridge.Port != 0 {
		if bridge, err = daemon.ListenBridge(cfg.Bridge.Port); err != nil {
			d.Shutdown(context.Background())
			l.Close()
			return err
		}
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 2)
	go func() { served <- d.Serve(l) }()
	logger.Info("serving", "socket", cfg.Socket)
	if bridge != nil {
		go func() {
			if err := d.ServeBridge(bridge); err != nil {
				served <- err
			}
		}()
		logger.Info("browser bridge", "origins", strings.Join(cfg.Bridge.Origins, " "))
		if len(cfg.Bridge.PINOrigins) > 0 {
			logger.Info("browser bridge: PIN presentation", "origins", strings.Join(cfg.Bridge.PINOrigins, " "))
		}
		if len(cfg.Bridge.IssueOrigins) > 0 {
			logger.Info("browser bridge: counter issuance", "origins", strings.Join(cfg.Bridge.IssueOrigins, " "))
		}
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
wait:
	for {
		select {
		case err = <-served:
			break wait
		case <-ctx.Done():
			logger.Info("shutting down")
			break wait
		case <-hup:
			reload(d, fs, o, logger, level)
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), daemon.DefaultShutdownTimeout)
	defer cancel()
	if serr := d.Shutdown(sctx); serr != nil && err == nil {
		err = serr
	}
	l.Close() // removes the socket file
	return err
}
