package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/keysystem"
	"github.com/sscard/ssc/sscd"
)

// loadWriteInfo takes the write info from --write-info or --from-json
// (exactly one), validated; errors are usage errors (exit 2).
func loadWriteInfo(writeInfo, jsonFile string) (*sscard.WriteInfo, error) {
	if (writeInfo == "") == (jsonFile == "") {
		return nil, usagef("give the data with --write-info STRING or --from-json FILE")
	}
	var w *sscard.WriteInfo
	var err error
	if writeInfo != "" {
		w, err = sscard.ParseWriteInfo(writeInfo)
	} else {
		w, err = readWriteInfoJSON(jsonFile)
	}
	if err == nil {
		err = w.Validate()
	}
	if err != nil {
		return nil, usageError{err}
	}
	return w, nil
}

// printIssueReport prints the outcome of an issuance.
func (a *app) printIssueReport(rep *sscard.IssueReport) error {
	if a.json {
		return writeJSON(a.stdout, rep)
	}
	verb := "issued"
	if rep.Rewritten {
		verb = "issued again (same holder)"
	}
	fmt.Fprintf(a.stdout, "card %s %s: wrote %s; read back and verified\n", rep.CardID, verb, strings.Join(rep.Written, ", "))
	return nil
}

// issueKeys are the key-system round trips of a write session as the
// command runs them: each gets what to send and returns the answer line.
type issueKeys struct {
	readKey  func(ctx context.Context, step1 string) (string, error)
	writeKey func(ctx context.Context, request string, before *sscard.BasicInfo) (string, error)
}

func (a *app) issueStep1Command() *cobra.Command {
	var writeInfo, jsonFile, journalPath string
	var force bool
	cmd := &cobra.Command{
		Use:   "step1",
		Short: "Issue a card with the key systems' answers pasted on stdin (the ministry's multi-step write)",
		Long: "step1 runs the write session of docs/issuance.md with the key systems outside sscctl: it prints the " +
			"8-field Step-1 string (region|ATR|03|cardID|F1|O1|F2|O2|) as one line and reads the read-key answer " +
			"RESULT1|RESULT2| from stdin; it then prints the 6-field write-key request (region|ATR|03|cardID|KEYFAC|ODATA|) " +
			"and reads the write-key answer RESULT| from stdin; then it writes the card, reads it back and prints the " +
			"report. The card stays in one transaction, without reset, from the first line to the report. Through " +
			"sscd (when its socket answers) the daemon holds the card between the steps and journals with its own " +
			"issue_journal. With --json the two request lines are one-line JSON objects.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			w, err := loadWriteInfo(writeInfo, jsonFile)
			if err != nil {
				return err
			}
			in := bufio.NewReader(a.stdin) // both answers come from the same stream
			ask := func(ctx context.Context, prompt string, parse func(string) error) error {
				if isTerminal(a.stdin) {
					fmt.Fprintln(a.stderr, prompt)
				}
				line, err := readLine(ctx, in)
				if err != nil {
					return err
				}
				return parse(strings.TrimSpace(line))
			}
			keys := issueKeys{
				readKey: func(ctx context.Context, step1 string) (string, error) {
					a.issueLine("step1", step1, nil)
					var line string
					err := ask(ctx, "paste the read-key answer RESULT1|RESULT2| and press Enter:", func(s string) error {
						_, err := sscard.ParseStep2Input(s)
						line = s
						return err
					})
					return line, err
				},
				writeKey: func(ctx context.Context, request string, before *sscard.BasicInfo) (string, error) {
					a.issueLine("request", request, before)
					var line string
					err := ask(ctx, "paste the write-key answer RESULT| and press Enter:", func(s string) error {
						_, err := sscard.ParseWriteKeyAnswer(s)
						line = s
						return err
					})
					return line, err
				},
			}
			var rep *sscard.IssueReport
			if done, err := a.issueViaDaemon(ctx, w, force, keys, &rep); done || err != nil {
				if err != nil {
					return err
				}
				a.journalIgnored(journalPath)
				return a.printIssueReport(rep)
			}
			opts := sscard.WriteOptions{Force: force}
			sess, j, closeAll, err := a.openIssueSession(ctx, journalPath)
			if err != nil {
				return err
			}
			defer closeAll()
			opts.Journal = j
			ws, err := sess.BeginWrite(ctx, w, opts)
			if err != nil {
				return err
			}
			defer ws.Abort()
			line, err := keys.readKey(ctx, ws.Step1().String())
			if err != nil {
				return err
			}
			ans, err := sscard.ParseStep2Input(line)
			if err != nil {
				return err
			}
			req, err := ws.Authorize(ctx, ans)
			if err != nil {
				return err
			}
			if line, err = keys.writeKey(ctx, req.String(), ws.Before()); err != nil {
				return err
			}
			wans, err := sscard.ParseWriteKeyAnswer(line)
			if err != nil {
				return err
			}
			if rep, err = ws.Write(ctx, wans); err != nil {
				return err
			}
			return a.printIssueReport(rep)
		},
	}
	f := cmd.Flags()
	f.StringVar(&writeInfo, "write-info", "", "the ministry write-info string (11 fields, each ended by |)")
	f.StringVar(&jsonFile, "from-json", "", "the data as a JSON `FILE` (sscard.WriteInfo)")
	f.StringVar(&journalPath, "journal", "", "append every step to this journal `FILE` (JSON lines; direct mode)")
	f.BoolVar(&force, "force", false, "write over a card issued to another holder")
	return cmd
}

// issueLine prints a request for a key system: the bare line, or with
// --json a one-line JSON object.
func (a *app) issueLine(kind, line string, before *sscard.BasicInfo) {
	if !a.json {
		fmt.Fprintln(a.stdout, line)
		return
	}
	v := map[string]any{kind: line}
	if before != nil {
		v["card"] = before
	}
	b, _ := json.Marshal(v)
	fmt.Fprintf(a.stdout, "%s\n", b)
}

// issueViaDaemon runs the write session through sscd when it answers: the
// daemon holds the card between the steps.
func (a *app) issueViaDaemon(ctx context.Context, w *sscard.WriteInfo, force bool, keys issueKeys, rep **sscard.IssueReport) (done bool, err error) {
	c, r, ok, err := a.viaDaemon(ctx)
	if err != nil || !ok {
		return err != nil, err
	}
	s1, err := c.IssueStep1(ctx, r.Name, sscd.IssueRequest{Data: w, Force: force}, cardOpts(r))
	if err != nil {
		return true, fromDaemon(err, r.Name)
	}
	line, err := keys.readKey(ctx, s1.Step1)
	if err != nil {
		abortIssue(c, s1.Session)
		return true, err
	}
	s2, err := c.IssueStep2(ctx, s1.Session, line)
	if err != nil {
		return true, fromDaemon(err, r.Name)
	}
	var before *sscard.BasicInfo
	if b, _, err := sscard.ParseReadCardBas(s2.Card); err == nil {
		before = b
	}
	if line, err = keys.writeKey(ctx, s2.Request, before); err != nil {
		abortIssue(c, s1.Session)
		return true, err
	}
	if *rep, err = c.IssueStep3(ctx, s1.Session, line); err != nil {
		return true, fromDaemon(err, r.Name)
	}
	return true, nil
}

// abortIssue ends a daemon write session early (best effort: it expires
// anyway).
func abortIssue(c *sscd.Client, session string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.IssueAbort(ctx, session) //nolint:errcheck // best effort
}

// simHSMCommand is `sscctl sim hsm`: the SIM software key system as a
// filter, for scripts and tests of the paste-the-answer flows.
func (a *app) simHSMCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hsm",
		Short: "SIM software key system: answer Step-1 strings and write-key requests read from stdin",
		Long: "The SIM software key system (sim-profile §1–3, test keys only: software cards) as a filter: " +
			"'sim hsm answer' reads a Step-1 string per line and prints RESULT1|RESULT2|; 'sim hsm write-answer' " +
			"reads a write-key request per line and prints RESULT|.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("sim hsm needs a subcommand: answer or write-answer")
		},
	}
	filter := func(use, short string, answer func(context.Context, string) (string, error)) *cobra.Command {
		return &cobra.Command{
			Use:   use,
			Short: short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				sc := bufio.NewScanner(a.stdin)
				n := 0
				for sc.Scan() {
					line := strings.TrimSpace(sc.Text())
					if line == "" {
						continue
					}
					out, err := answer(cmd.Context(), line)
					if err != nil {
						return err
					}
					fmt.Fprintln(a.stdout, out)
					n++
				}
				if err := sc.Err(); err != nil {
					return err
				}
				if n == 0 {
					return usagef("no line on stdin")
				}
				return nil
			},
		}
	}
	cmd.AddCommand(filter("answer", "Read Step-1 strings, print the SIM read-key answers RESULT1|RESULT2|",
		func(ctx context.Context, line string) (string, error) {
			st, err := sscard.ParseStep1(line)
			if err != nil {
				return "", err
			}
			ans, err := keysystem.SIM{}.Authenticate(ctx, st)
			return ans.String(), err
		}))
	cmd.AddCommand(filter("write-answer", "Read write-key requests, print the SIM write-key answers RESULT|",
		func(ctx context.Context, line string) (string, error) {
			req, err := sscard.ParseWriteKeyRequest(line)
			if err != nil {
				return "", err
			}
			ans, err := keysystem.SIM{}.AuthorizeWrite(ctx, req)
			return ans.String(), err
		}))
	return cmd
}
