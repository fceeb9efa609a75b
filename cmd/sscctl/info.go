package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sscard/ssc/internal/stack"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sscard"
)

func (a *app) infoCommand() *cobra.Command {
	var format, hsmName, terminal, device string
	var partial, all bool
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Read the card's basic information (the ministry's iReadCardBas data)",
		Long: "info reads the social security application's basic information with the fewest APDUs. " +
			"On a third-generation card the card number and holder data need the HSM two-step " +
			"authentication: --hsm sim uses the software HSM of the simulation profile (it only " +
			"authenticates software cards), --hsm URL an HTTP key system; --partial prints the free " +
			"fields only, like the ministry's library without the HSM step.\n\n" +
			"--format text (default), json, or bas: the exact iReadCardBas string " +
			"(terminal and device numbers from --terminal/--device or SSC_TERMINAL_NO/SSC_DEVICE_NO).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.json {
				format = "json"
			}
			switch format {
			case "text", "json", "bas":
			default:
				return usagef("--format must be text, json or bas, not %q", format)
			}
			hsm, err := parseHSM(hsmName)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if c := a.daemonClient(ctx); c != nil {
				done, err := a.infoViaDaemon(ctx, c, format, hsmName != "" && hsm != nil, partial, all, sscard.TerminalInfo{TerminalNo: terminal, DeviceNo: device})
				if done || err != nil {
					return err
				}
			}
			sys, card, _, err := a.connect(ctx)
			if err != nil {
				return err
			}
			defer sys.Close()
			defer card.Close()
			opts := sscard.Options{}
			if a.trace {
				opts.Trace = a.tracer()
			}
			sess, err := sscard.Open(ctx, card, opts)
			if err != nil {
				return err
			}
			defer sess.Close()
			ro := sscard.ReadOptions{AllowPartial: partial}
			if all {
				ro.Fields = sscard.FieldsAll
			}
			info, err := sscard.ReadAuto(ctx, sess, hsm, ro)
			if err != nil {
				if errors.Is(err, sscard.ErrNeedsHSM) {
					return needsHSMHint(err)
				}
				return err
			}
			switch format {
			case "json":
				return writeJSON(a.stdout, info)
			case "bas":
				fmt.Fprintln(a.stdout, sscard.FormatReadCardBas(info, sscard.TerminalInfo{TerminalNo: terminal, DeviceNo: device}))
				return nil
			}
			return printInfo(a, info, card.Reader(), card.Protocol())
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output: text, json or bas (iReadCardBas string)")
	cmd.Flags().StringVar(&hsmName, "hsm", os.Getenv("SSC_HSM"), "HSM for 3rd-gen cards: sim or an http(s) URL (env SSC_HSM)")
	cmd.Flags().BoolVar(&all, "all", false, "read every EF05/EF06 field, not only the iReadCardBas set")
	cmd.Flags().BoolVar(&partial, "partial", false, "on a 3rd-gen card without HSM, print the free fields only")
	cmd.Flags().StringVar(&terminal, "terminal", os.Getenv("SSC_TERMINAL_NO"), "terminal number for --format bas (env SSC_TERMINAL_NO)")
	cmd.Flags().StringVar(&device, "device", os.Getenv("SSC_DEVICE_NO"), "device number for --format bas (env SSC_DEVICE_NO)")
	return cmd
}

// parseHSM parses --hsm (stack.ParseHSM: sim, an http(s) URL, or none);
// a bad value is a usage error.
func parseHSM(s string) (sscard.HSM, error) {
	h, err := stack.ParseHSM(s, "")
	if err != nil {
		return nil, usagef("--hsm %v", err)
	}
	return h, nil
}

func printInfo(a *app, info *sscard.BasicInfo, readerName string, proto reader.Protocol) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	row("reader", fmt.Sprintf("%s (%s)", readerName, proto))
	row("card generation", fmt.Sprintf("%d (spec version %s)", info.Generation, info.Version))
	row("card identification code", fmt.Sprintf("%X", []byte(info.CardID)))
	row("region", info.Region)
	row("card category", info.Category)
	row("issue date", info.IssueDate)
	row("expiry date", info.ExpiryDate)
	row("card number", info.CardNumber)
	row("social security number", info.SSN)
	row("name", info.Name)
	if info.Sex != "" {
		row("sex", fmt.Sprintf("%s (%s)", info.Sex, info.SexLabel()))
	}
	row("ethnicity", info.Ethnicity)
	row("birthplace", info.Birthplace)
	row("birth date", info.BirthDate)
	row("ATR historical bytes", fmt.Sprintf("%X", []byte(info.ATRHistorical)))
	if len(info.Unavailable) > 0 {
		row("not read (needs HSM)", strings.Join(info.Unavailable, ", "))
	}
	return tw.Flush()
}

// needsHSMHint says how to read the protected fields.
func needsHSMHint(err error) error {
	return fmt.Errorf("%w (use --hsm sim for a software card, --hsm URL for a key system, or --partial)", err)
}
