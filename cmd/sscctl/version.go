package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sscard/ssc/internal/version"
	"github.com/sscard/ssc/sscd"
)

// versionResult is `sscctl version --json`: sscctl's own build and, when a
// daemon answers on the socket, the daemon's.
type versionResult struct {
	version.Info
	Daemon *sscd.Version `json:"daemon,omitempty"`
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print sscctl's version and commit, and the daemon's when it runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res := versionResult{Info: version.Get()}
			if c := a.daemonClient(cmd.Context()); c != nil {
				ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
				defer cancel()
				// The daemon's version is extra information: sscctl's own
				// version is printed even when the daemon does not say.
				if v, err := c.Version(ctx); err == nil {
					res.Daemon = v
				}
			}
			if a.json {
				return writeJSON(a.stdout, res)
			}
			fmt.Fprintln(a.stdout, "sscctl", res.Info)
			if d := res.Daemon; d != nil {
				commit := ""
				if d.Commit != "" {
					commit = "commit " + d.Commit + ", "
				}
				fmt.Fprintf(a.stdout, "sscd %s (%sAPI %s, %s)\n", d.Daemon, commit, d.API, d.Go)
			}
			return nil
		},
	}
}
