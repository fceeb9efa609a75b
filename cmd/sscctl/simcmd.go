package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sim/gempc"
)

func (a *app) simCommand() *cobra.Command {
	var addr, profile, mode, serialPath, ptyLink, readerType, keypad string
	var dur time.Duration
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run the software card in the vpcd virtual reader of pcscd",
		Long: "sim connects the software social security card to pcscd's vpcd driver (package vsmartcard-vpcd), " +
			"so every PC/SC application sees it in the reader \"Virtual PCD 00 00\". The card stays inserted until " +
			"Ctrl-C (or --for); if pcscd restarts, the card is inserted again. 'sim list' and 'sim show' print the " +
			"built-in personalisations.\n\n" +
			"--serial PATH instead emulates a serial GemPC Twin / GemPC PinPad reader holding the card on PATH, " +
			"one end of a pty pair (socat -d -d pty,raw,echo=0,link=/tmp/ttyHost pty,raw,echo=0,link=/tmp/ttyCard): " +
			"use the other end with --reader serial:/tmp/ttyHost:GemPCPinPad, or from pcscd with libccidtwin. " +
			"--pty LINK makes the pseudo-terminal itself and links LINK to the host's end " +
			"(sscctl sim --pty /tmp/ttyGemPC, then --reader serial:/tmp/ttyGemPC:GemPCPinPad). " +
			"--keypad gives the PIN-pad entries as a script, e.g. \"123456 OK; CANCEL; TIMEOUT\".",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := loadProfile(profile)
			if err != nil {
				return err
			}
			m, err := parseMode(mode)
			if err != nil {
				return err
			}
			if dur < 0 {
				return usagef("--for must not be negative")
			}
			card, err := sim.New(p, sim.Options{Mode: m})
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if dur > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, dur)
				defer cancel()
			}
			if serialPath != "" && ptyLink != "" {
				return usagef("give --serial or --pty, not both")
			}
			if serialPath != "" || ptyLink != "" {
				if m != sim.Contact {
					return usagef("--serial emulates a contact reader: --mode must be contact")
				}
				return a.serveSerialReader(ctx, card, p.Name, serialPath, ptyLink, readerType, keypad)
			}
			if addr == "" {
				addr = sim.DefaultVPCDAddr
			}
			v := &sim.VPCD{Addr: addr, Card: card, Logf: func(f string, args ...any) {
				fmt.Fprintf(a.stderr, "sscctl sim: "+f+"\n", args...)
			}}
			fmt.Fprintf(a.stderr, "sscctl sim: card %q (%s) ATR %X\n", p.Name, m, card.ATR())
			inserted := make(chan struct{})
			go func() {
				select {
				case <-v.Connected():
					close(inserted)
				case <-ctx.Done():
				}
			}()
			if err := v.Serve(ctx); err != nil {
				return err
			}
			select {
			case <-inserted:
				return nil
			default:
				return fmt.Errorf("the card was never inserted: nothing answered at %s (is pcscd running with the vsmartcard-vpcd driver?)", v.Addr)
			}
		},
	}
	cmd.Flags().StringVar(&addr, "vpcd", envOr("SSC_VPCD", sim.DefaultVPCDAddr), "address of vpcd (env SSC_VPCD)")
	cmd.Flags().StringVar(&profile, "profile", sim.DefaultProfile, "personalisation: built-in name or .json/.yaml file")
	cmd.Flags().StringVar(&mode, "mode", "contact", "interface: contact (T=0) or contactless")
	cmd.Flags().DurationVar(&dur, "for", 0, "remove the card after this long (default: until interrupted)")
	cmd.Flags().StringVar(&serialPath, "serial", "", "emulate a serial GemPC reader on this device (one end of a pty pair) instead of using vpcd")
	cmd.Flags().StringVar(&ptyLink, "pty", "", "emulate a serial GemPC reader on a new pseudo-terminal and make this path a link to it (no socat needed)")
	cmd.Flags().StringVar(&readerType, "reader-type", string(gempc.GemPCPinPad), "with --serial: GemPCTwin or GemPCPinPad")
	cmd.Flags().StringVar(&keypad, "keypad", "", "with --serial and GemPCPinPad: PIN-pad entries, e.g. \"123456 OK; CANCEL\"")

	cmd.AddCommand(a.simHSMCommand())
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the built-in personalisations",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			type entry struct {
				Name        string `json:"name"`
				Version     string `json:"version"`
				Description string `json:"description"`
			}
			var out []entry
			for _, n := range sim.BuiltinNames() {
				p, err := sim.Builtin(n)
				if err != nil {
					return err
				}
				out = append(out, entry{n, p.SSSE.Version, p.Description})
			}
			if a.json {
				return writeJSON(a.stdout, out)
			}
			for _, e := range out {
				def := ""
				if e.Name == sim.DefaultProfile {
					def = " (default)"
				}
				fmt.Fprintf(a.stdout, "%-10s %s  %s%s\n", e.Name, e.Version, e.Description, def)
			}
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "show [NAME|FILE]",
		Short: "Print a personalisation (YAML, or JSON with --json) to copy and edit",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			name := sim.DefaultProfile
			if len(args) == 1 {
				name = args[0]
			}
			p, err := loadProfile(name)
			if err != nil {
				return err
			}
			if a.json {
				return writeJSON(a.stdout, p)
			}
			enc := yaml.NewEncoder(a.stdout)
			enc.SetIndent(2)
			if err := enc.Encode(p); err != nil {
				return err
			}
			return enc.Close()
		},
	})
	return cmd
}

// serveSerialReader runs the GemPC reader emulator with card on path (or
// on a new pty linked from ptyLink) until ctx ends.
func (a *app) serveSerialReader(ctx context.Context, card *sim.Card, name, path, ptyLink, typ, script string) error {
	t := gempc.Type(typ)
	if t != gempc.GemPCTwin && t != gempc.GemPCPinPad {
		return usagef("--reader-type must be GemPCTwin or GemPCPinPad, not %q", typ)
	}
	opts := gempc.Options{Logf: func(f string, args ...any) {
		fmt.Fprintf(a.stderr, "sscctl sim: "+f+"\n", args...)
	}}
	if script != "" {
		if t != gempc.GemPCPinPad {
			return usagef("--keypad needs --reader-type GemPCPinPad")
		}
		k, err := gempc.ScriptKeypad(script)
		if err != nil {
			return usagef("--keypad: %v", err)
		}
		opts.Keypad = k
	}
	r := gempc.New(t, opts)
	r.Insert(card)
	var err error
	if ptyLink != "" {
		var pty *gempc.PTY
		if pty, err = gempc.OpenPTY(); err != nil {
			return err
		}
		defer pty.Close()
		if fi, lerr := os.Lstat(ptyLink); lerr == nil && fi.Mode()&os.ModeSymlink != 0 {
			os.Remove(ptyLink) // a stale link of an earlier run
		}
		if err := os.Symlink(pty.Path, ptyLink); err != nil {
			return err
		}
		defer os.Remove(ptyLink)
		fmt.Fprintf(a.stderr, "sscctl sim: card %q in an emulated %s on %s (%s)\n", name, t, ptyLink, pty.Path)
		err = r.Serve(ctx, pty.Master)
	} else {
		fmt.Fprintf(a.stderr, "sscctl sim: card %q in an emulated %s on %s\n", name, t, path)
		err = r.ServePath(ctx, path)
	}
	if ctx.Err() != nil {
		return nil // interrupted or --for elapsed: the normal end
	}
	return err
}
