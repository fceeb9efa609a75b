package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sscard/ssc/reader"
)

func (a *app) readersCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "readers",
		Short: "List readers and the cards in them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c := a.daemonClient(cmd.Context()); c != nil {
				rs, err := a.readersViaDaemon(cmd.Context(), c)
				if err != nil {
					return err
				}
				return a.printReaders(rs)
			}
			sys, err := a.system()
			if err != nil {
				return err
			}
			defer sys.Close()
			rs, err := sys.ListReaders(cmd.Context())
			if err != nil {
				return err
			}
			return a.printReaders(rs)
		},
	}
}

func (a *app) printReaders(rs []reader.Info) error {
	if a.json {
		return writeJSON(a.stdout, rs)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	for _, r := range rs {
		state := "empty"
		if r.CardPresent {
			state = "card"
			if r.InUse {
				state = "card (in use)"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, r.Backend, state, r.ATR)
	}
	return tw.Flush()
}
