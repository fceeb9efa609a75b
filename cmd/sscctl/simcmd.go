package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/sscard/ssc/sim"
)

func (a *app) simCommand() *cobra.Command {
	var addr, profile, mode string
	var dur time.Duration
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run the software card in the vpcd virtual reader of pcscd",
		Long: "sim connects the software social security card to pcscd's vpcd driver (package vsmartcard-vpcd), " +
			"so every PC/SC application sees it in the reader \"Virtual PCD 00 00\". The card stays inserted until " +
			"Ctrl-C (or --for); if pcscd restarts, the card is inserted again. 'sim list' and 'sim show' print the " +
			"built-in personalisations.",
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
				fmt.Fprintf(a.stdout, "%-6s %s  %s%s\n", e.Name, e.Version, e.Description, def)
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
