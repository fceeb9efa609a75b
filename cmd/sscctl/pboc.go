package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sscard/ssc/internal/stack"
	"github.com/sscard/ssc/pboc"
	"github.com/sscard/ssc/sm/simkeys"
)

// pbocFlags are the options every pboc subcommand shares.
type pbocFlags struct {
	iface  string
	aid    string
	amount string
	caFile string
	aids   string
}

func (a *app) pbocCommand() *cobra.Command {
	var f pbocFlags
	cmd := &cobra.Command{
		Use:   "pboc",
		Short: "Read the card's PBOC 3.0 bank application: apps, account, balance, log, offline authentication",
		Long: "pboc works with the financial (PBOC 3.0 / UnionPay) application of the card as a payment " +
			"terminal does. Contact readers use the PSE, contactless readers the PPSE and the qPBOC flow " +
			"(--interface auto decides from the ATR). Offline data authentication checks the SM2 " +
			"certificates against a CA key table: the SIM test CA by default (it only authenticates " +
			"software cards), or --ca FILE with lines \"RID INDEX PUBLICKEY\" (hex; the key as X||Y or 04||X||Y). " +
			"The terminal's supported applications are UnionPay's and the international schemes' by default, " +
			"or the AID list of --aids FILE (YAML or JSON, see docs/pboc.md).",
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return usagef("pboc needs a subcommand: apps, read, balance, log or oda")
		},
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.iface, "interface", "auto", "card interface: auto, contact or contactless")
	pf.StringVar(&f.aid, "aid", "", "use this application (hex AID) instead of the first candidate")
	pf.StringVar(&f.amount, "amount", "0", "transaction amount in yuan for the GPO data (e.g. 12.50)")
	pf.StringVar(&f.caFile, "ca", "", "CA public key table file, or \"sim\" (default: the SIM test payment CA)")
	pf.StringVar(&f.aids, "aids", "", "the terminal's AID list file (YAML or JSON; default: UnionPay and the international schemes)")
	cmd.AddCommand(a.pbocAppsCommand(&f), a.pbocReadCommand(&f), a.pbocBalanceCommand(&f),
		a.pbocLogCommand(&f), a.pbocODACommand(&f))
	return cmd
}

// parseYuan turns "12.5" into 1250 fen. Negative amounts, more than two
// decimals and amounts beyond 12 digits (n12) are refused.
func parseYuan(s string) (uint64, error) {
	whole, frac, _ := strings.Cut(strings.TrimSpace(s), ".")
	if whole == "" && frac == "" || len(frac) > 2 {
		return 0, usagef("--amount %q: want yuan with at most two decimals, e.g. 12.50", s)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	if whole == "" {
		whole = "0"
	}
	digits := whole + frac
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, usagef("--amount %q: want yuan with at most two decimals, e.g. 12.50", s)
		}
	}
	v, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || v > 999999999999 {
		return 0, usagef("--amount %q: too large (at most 12 digits in fen)", s)
	}
	return v, nil
}

func yuan(fen uint64) string { return fmt.Sprintf("%d.%02d", fen/100, fen%100) }

func (f *pbocFlags) options() (pboc.Options, []byte, error) {
	var opts pboc.Options
	switch strings.ToLower(f.iface) {
	case "auto", "":
		opts.Interface = pboc.AutoInterface
	case "contact":
		opts.Interface = pboc.Contact
	case "contactless", "cl":
		opts.Interface = pboc.Contactless
	default:
		return opts, nil, usagef("--interface must be auto, contact or contactless, not %q", f.iface)
	}
	amount, err := parseYuan(f.amount)
	if err != nil {
		return opts, nil, err
	}
	opts.Terminal.Amount = amount
	opts.Terminal.SMSupported = true
	var aid []byte
	if f.aid != "" {
		aid, err = parseHex(f.aid)
		if err != nil {
			return opts, nil, usagef("--aid: %v", err)
		}
		if len(aid) < 5 || len(aid) > 16 {
			return opts, nil, usagef("--aid must be 5 to 16 bytes, got %d", len(aid))
		}
	}
	if f.aids != "" {
		opts.AIDs, err = pboc.LoadAIDList(f.aids)
		if err != nil {
			return opts, nil, usagef("--aids: %v", err)
		}
	}
	if f.caFile != "" {
		opts.CAKeys, err = stack.CAKeys(f.caFile)
		if err != nil {
			return opts, nil, err
		}
	} else {
		opts.CAKeys = simkeys.CAKeyTable()
	}
	return opts, aid, nil
}

// withPBOC connects to the card and runs fn with a payment session.
func (a *app) withPBOC(ctx context.Context, f *pbocFlags, fn func(s *pboc.Session, aid []byte) error) error {
	opts, aid, err := f.options()
	if err != nil {
		return err
	}
	if a.trace {
		opts.Trace = a.tracer()
	}
	sys, card, _, err := a.connect(ctx)
	if err != nil {
		return err
	}
	defer sys.Close()
	defer card.Close()
	return fn(pboc.NewSession(card, opts), aid)
}

// withPBOCApp is withPBOC with the --aid application selected (without
// GPO) when one is given.
func (a *app) withPBOCApp(ctx context.Context, f *pbocFlags, fn func(s *pboc.Session) error) error {
	return a.withPBOC(ctx, f, func(s *pboc.Session, aid []byte) error {
		if aid != nil {
			if _, err := s.Select(ctx, aid); err != nil {
				return err
			}
		}
		return fn(s)
	})
}

func (a *app) pbocAppsCommand(f *pbocFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "apps",
		Short: "List the payment applications (candidate list, blocked ones, and every directory entry marked supported or not)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withPBOC(cmd.Context(), f, func(s *pboc.Session, _ []byte) error {
				list, err := s.Applications(cmd.Context())
				if list == nil {
					return err
				}
				// Nothing selectable still lists what was found (blocked ones).
				if a.json {
					if werr := writeJSON(a.stdout, list); werr != nil {
						return werr
					}
				} else if perr := printCandidates(a.stdout, list, f.terminalAIDs()); perr != nil {
					return perr
				}
				return err
			})
		},
	}
}

// terminalAIDs is the terminal list in use (for listings).
func (f *pbocFlags) terminalAIDs() []pboc.TerminalAID {
	if f.aids != "" {
		if l, err := pboc.LoadAIDList(f.aids); err == nil {
			return l
		}
	}
	return pboc.DefaultAIDs()
}

func printCandidates(w io.Writer, list *pboc.CandidateList, terminal []pboc.TerminalAID) error {
	fmt.Fprintf(w, "method: %s\n", list.Method)
	if list.Fallback != "" {
		fmt.Fprintf(w, "fallback: %s\n", list.Fallback)
	}
	if len(list.Directory) > 0 {
		if err := printDirectory(w, list.Directory, terminal); err != nil {
			return err
		}
	}
	if len(list.Candidates)+len(list.Blocked) == 0 {
		fmt.Fprintln(w, "no payment application found")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	// The label goes last: tabwriter counts runes, so Chinese text would
	// misalign any column after it.
	fmt.Fprintln(tw, "#\tAID\tpriority\tstatus\tname\tlabel")
	row := func(i string, c pboc.Candidate, status string) {
		prio := "-"
		if c.HasPriority {
			prio = strconv.Itoa(c.Priority.Rank())
			if c.Priority.NeedsConfirmation() {
				status = strings.TrimPrefix(status+", needs confirmation", ", ")
			}
		}
		label := c.Label
		if c.FCI != nil && c.FCI.PreferredName != "" {
			label = fmt.Sprintf("%s (%s)", label, c.FCI.PreferredName)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", i, c.AID, prio, status, orDash(c.Name), orDash(label))
	}
	for i, c := range list.Candidates {
		row(strconv.Itoa(i+1), c, "selectable")
	}
	for _, c := range list.Blocked {
		row("-", c, "blocked")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, why := range list.Skipped {
		fmt.Fprintf(w, "skipped: %s\n", why)
	}
	return nil
}

// printDirectory lists every PSE/PPSE entry, marking whether the
// terminal's AID list supports it (and by which entry).
func printDirectory(w io.Writer, dir []pboc.DirectoryEntry, terminal []pboc.TerminalAID) error {
	fmt.Fprintln(w, "directory:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  AID\tpriority\tterminal\tname\tlabel")
	for _, e := range dir {
		prio := "-"
		if e.HasPriority {
			prio = strconv.Itoa(e.Priority.Rank())
		}
		support := "not supported"
		if t, ok := pboc.Supports(terminal, e.AID); ok {
			support = "supported"
			if t.Partial && !bytes.Equal(t.AID, e.AID) {
				support = fmt.Sprintf("supported (partial %X)", t.AID)
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", e.AID, prio, support, orDash(pboc.AIDName(e.AID)), orDash(e.Label))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (a *app) pbocReadCommand(f *pbocFlags) *cobra.Command {
	var oda bool
	cmd := &cobra.Command{
		Use:   "read",
		Short: "Read the account view: PAN, expiry, cardholder, product flags (and --oda)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withPBOC(cmd.Context(), f, func(s *pboc.Session, aid []byte) error {
				r, err := s.Read(cmd.Context(), pboc.ReadOptions{AID: aid, ODA: oda})
				if r == nil {
					return err
				}
				if a.json {
					if werr := writeJSON(a.stdout, r); werr != nil {
						return werr
					}
				} else if perr := printReading(a.stdout, r); perr != nil {
					return perr
				}
				return err // an ODA failure after a good reading still fails the command
			})
		},
	}
	cmd.Flags().BoolVar(&oda, "oda", false, "also perform offline data authentication")
	return cmd
}

func printReading(w io.Writer, r *pboc.Reading) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	acc := r.Account
	app := r.Application
	fmt.Fprintf(tw, "interface\t%s\n", r.Interface)
	fmt.Fprintf(tw, "application\t%s %s\n", app.AID, orDash(app.Name))
	if acc != nil {
		if acc.Label != "" {
			fmt.Fprintf(tw, "label\t%s\n", acc.Label)
		}
		if acc.PreferredName != "" {
			fmt.Fprintf(tw, "preferred name\t%s\n", acc.PreferredName)
		}
		fmt.Fprintf(tw, "PAN\t%s\n", acc.PAN)
		for _, kv := range [][2]string{
			{"PAN sequence", acc.PANSequence}, {"effective", acc.Effective}, {"expiry", acc.Expiry},
			{"cardholder", acc.Cardholder}, {"issuer country", acc.IssuerCountry}, {"currency", acc.Currency},
		} {
			if kv[1] != "" {
				fmt.Fprintf(tw, "%s\t%s\n", kv[0], kv[1])
			}
		}
		if acc.Track2 != nil {
			fmt.Fprintf(tw, "track 2\tPAN %s, expiry %s, service code %s\n", acc.Track2.PAN, acc.Track2.Expiry, acc.Track2.ServiceCode)
		}
		if len(acc.ProductID) > 0 {
			flags := "none"
			if len(acc.ProductFlags) > 0 {
				flags = strings.Join(acc.ProductFlags, ", ")
			}
			fmt.Fprintf(tw, "product id\t%s (%s)\n", acc.ProductID, flags)
		}
		fmt.Fprintf(tw, "social security card\t%s\n", yesNo(acc.SocialSecurityCard))
	}
	if r.GPO != nil {
		fmt.Fprintf(tw, "AIP\t%X\n", r.GPO.AIP[:])
	}
	if o := r.Outcome; o != nil {
		line := fmt.Sprintf("%s (CID %s), ATC %d, cryptogram %s", o.Decision, o.CID, o.ATC, o.Cryptogram)
		if o.AvailableOffline != nil {
			line += ", available offline " + yuan(*o.AvailableOffline)
		}
		fmt.Fprintf(tw, "card decision\t%s\n", line)
	}
	fmt.Fprintf(tw, "records\t%d\n", len(r.Records))
	if r.ODA != nil {
		fmt.Fprintf(tw, "ODA\t%s\n", odaSummary(r.ODA))
	}
	return tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func odaSummary(o *pboc.ODAResult) string {
	if o.OK {
		return fmt.Sprintf("%s ok (CA %s/%02X)", o.Method, o.RID, o.CAIndex)
	}
	return fmt.Sprintf("%s FAILED: %s", orDash(o.Method), o.Error)
}

func (a *app) pbocBalanceCommand(f *pbocFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "balance",
		Short: "Read the e-cash balance and limits (GET DATA 9F79, 9F77, 9F78, 9F6D)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withPBOCApp(cmd.Context(), f, func(s *pboc.Session) error {
				b, err := s.Balance(cmd.Context())
				if err != nil {
					return err
				}
				if a.json {
					return writeJSON(a.stdout, b)
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintf(tw, "balance\t%s\n", yuan(b.Balance))
				for _, kv := range []struct {
					k string
					v *uint64
				}{{"balance limit", b.Limit}, {"single transaction limit", b.SingleLimit}, {"reset threshold", b.ResetThreshold}} {
					if kv.v != nil {
						fmt.Fprintf(tw, "%s\t%s\n", kv.k, yuan(*kv.v))
					}
				}
				return tw.Flush()
			})
		},
	}
}

func (a *app) pbocLogCommand(f *pbocFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "log",
		Short: "Read the transaction log (newest first)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withPBOCApp(cmd.Context(), f, func(s *pboc.Session) error {
				recs, err := s.Log(cmd.Context())
				if err != nil {
					return err
				}
				if a.json {
					if recs == nil {
						recs = []pboc.LogRecord{}
					}
					return writeJSON(a.stdout, recs)
				}
				if len(recs) == 0 {
					fmt.Fprintln(a.stdout, "no transactions")
					return nil
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "#\tdate\ttime\tamount\ttype\tATC\tmerchant")
				for i, r := range recs {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%02X\t%d\t%s\n", i+1, orDash(r.Date), orDash(r.Time), yuan(r.Amount), r.Type, r.ATC, orDash(r.Merchant))
				}
				return tw.Flush()
			})
		},
	}
}

func (a *app) pbocODACommand(f *pbocFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "oda",
		Short: "Offline data authentication with SM2: SDA, DDA (contact) or fDDA (contactless)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withPBOC(cmd.Context(), f, func(s *pboc.Session, aid []byte) error {
				r, err := s.Read(cmd.Context(), pboc.ReadOptions{AID: aid, ODA: true})
				if r == nil || r.ODA == nil {
					if err == nil {
						err = errors.New("pboc: no ODA result")
					}
					return err
				}
				if a.json {
					if werr := writeJSON(a.stdout, r.ODA); werr != nil {
						return werr
					}
				} else {
					tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
					fmt.Fprintf(tw, "application\t%s %s\n", r.Application.AID, orDash(r.Application.Name))
					fmt.Fprintf(tw, "method\t%s\n", orDash(r.ODA.Method))
					fmt.Fprintf(tw, "CA key\t%s index %02X\n", r.ODA.RID, r.ODA.CAIndex)
					if r.ODA.IssuerCert != nil {
						fmt.Fprintf(tw, "issuer certificate\tissuer %X, expiry %X, serial %X\n", r.ODA.IssuerCert.IssuerID[:], r.ODA.IssuerCert.Expiry[:], r.ODA.IssuerCert.Serial[:])
					}
					if r.ODA.ICCCert != nil {
						fmt.Fprintf(tw, "ICC certificate\tPAN %X, expiry %X, serial %X\n", r.ODA.ICCCert.PAN[:], r.ODA.ICCCert.Expiry[:], r.ODA.ICCCert.Serial[:])
					}
					if len(r.ODA.DynamicNumber) > 0 {
						fmt.Fprintf(tw, "ICC dynamic number\t%s\n", r.ODA.DynamicNumber)
					}
					fmt.Fprintf(tw, "result\t%s\n", odaSummary(r.ODA))
					if ferr := tw.Flush(); ferr != nil {
						return ferr
					}
				}
				return err
			})
		},
	}
}
