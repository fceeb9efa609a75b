package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sscard/ssc/internal/stack"
	"github.com/sscard/ssc/sscard"
)

func (a *app) issueCommand() *cobra.Command {
	var writeInfo, jsonFile, hsmName, journalPath string
	var force bool
	cmd := &cobra.Command{
		Use:   "issue",
		Short: "Counter issuance: write the holder and card data to a card (write key via --hsm)",
		Long: "issue writes the holder and card data to the card (EF06, then EF05) after authenticating with the " +
			"write key (kid 04), then reads everything back and compares. The data comes from the ministry " +
			"write-info string (--write-info '卡识别码|初始化机构编码|发卡日期|卡有效期|卡号|社会保障号码|姓名|姓名拓展|性别|民族|出生日期|') " +
			"or a JSON file (--from-json FILE), and is validated before the card is touched. --hsm sim is the " +
			"software key system (software cards only), --hsm URL an HTTP key system holding both keys (the write-key " +
			"request is POSTed to the same URL). `sscctl issue step1` pastes the key systems' answers instead. --journal FILE records every step (no secrets, no " +
			"personal data), so an interrupted issuance can be reported; running the same issuance again " +
			"completes it. A card issued to another holder is refused without --force.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			w, err := loadWriteInfo(writeInfo, jsonFile)
			if err != nil {
				return err
			}
			hsm, wk, err := parseWriteHSM(hsmName)
			if err != nil {
				return err
			}
			// Through sscd the daemon holds the card between the steps and
			// this command's key system answers them.
			var rep *sscard.IssueReport
			if done, err := a.issueViaDaemon(ctx, w, force, keySystemKeys(hsm, wk), &rep); done || err != nil {
				if err != nil {
					return err
				}
				a.journalIgnored(journalPath)
				return a.printIssueReport(rep)
			}
			opts := sscard.IssueOptions{HSM: hsm, WriteKey: wk, Force: force}
			sess, j, closeAll, err := a.openIssueSession(ctx, journalPath)
			if err != nil {
				return err
			}
			defer closeAll()
			opts.Journal = j
			rep, err = sscard.Issue(ctx, sess, w, opts)
			if err != nil {
				return err
			}
			return a.printIssueReport(rep)
		},
	}
	f := cmd.Flags()
	f.StringVar(&writeInfo, "write-info", "", "the ministry write-info string (11 fields, each ended by |)")
	f.StringVar(&jsonFile, "from-json", "", "the data as a JSON `FILE` (sscard.WriteInfo)")
	f.StringVar(&hsmName, "hsm", os.Getenv("SSC_HSM"), "key system for the read and write keys: sim or an http(s) URL (env SSC_HSM)")
	f.StringVar(&journalPath, "journal", "", "append every step to this journal `FILE` (JSON lines)")
	f.BoolVar(&force, "force", false, "write over a card issued to another holder")
	cmd.AddCommand(a.issueStatusCommand())
	cmd.AddCommand(a.issueStep1Command())
	cmd.AddCommand(a.issueBatchCommand())
	return cmd
}

// parseWriteHSM is parseHSM for an issuance: the key system must hold the
// write key too (sim, or an HTTP key system for both).
func parseWriteHSM(name string) (sscard.HSM, sscard.WriteKeyHSM, error) {
	hsm, err := parseHSM(name)
	if err != nil {
		return nil, nil, err
	}
	wk, err := stack.WriteKey(hsm)
	if err != nil {
		return nil, nil, usagef("issue needs --hsm sim (the software key system) or --hsm URL (an HTTP key system for the read and write keys)")
	}
	return hsm, wk, nil
}

func readWriteInfoJSON(path string) (*sscard.WriteInfo, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var w sscard.WriteInfo
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", sscard.ErrWriteInfo, path, err)
	}
	return &w, nil
}

func (a *app) issueStatusCommand() *cobra.Command {
	var journalPath, cardID string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Report the last issuance of a card from its journal",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			entries, err := readJournalArgs(journalPath, cardID)
			if err != nil {
				return err
			}
			st := sscard.Status(entries, cardID)
			if st == nil {
				return errors.New("no issuance of this card in the journal")
			}
			if a.json {
				return writeJSON(a.stdout, st)
			}
			switch {
			case st.Done:
				fmt.Fprintf(a.stdout, "card %s: issued and verified (wrote %s)\n", st.CardID, strings.Join(st.Written, ", "))
			case st.Error != "":
				fmt.Fprintf(a.stdout, "card %s: failed at %s; written: %s\n  %s\n  run the same issuance again to complete it\n",
					st.CardID, st.Step, orNone(st.Written), st.Error)
			default:
				fmt.Fprintf(a.stdout, "card %s: interrupted after %s; written: %s\n  run the same issuance again to complete it\n",
					st.CardID, st.Step, orNone(st.Written))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&journalPath, "journal", "", "the journal `FILE`")
	cmd.Flags().StringVar(&cardID, "card-id", "", "the card identification code (32 hex digits)")
	return cmd
}

func orNone(fields []string) string {
	if len(fields) == 0 {
		return "nothing"
	}
	return strings.Join(fields, ", ")
}

// keySystemKeys answers the steps of a daemon write session with a key
// system of this process.
func keySystemKeys(hsm sscard.HSM, wk sscard.WriteKeyHSM) issueKeys {
	return issueKeys{
		readKey: func(ctx context.Context, step1 string) (string, error) {
			st, err := sscard.ParseStep1(step1)
			if err != nil {
				return "", err
			}
			ans, err := hsm.Authenticate(ctx, st)
			if err != nil {
				return "", fmt.Errorf("%w: %w", sscard.ErrHSM, err)
			}
			return ans.String(), nil
		},
		writeKey: func(ctx context.Context, request string, _ *sscard.BasicInfo) (string, error) {
			rq, err := sscard.ParseWriteKeyRequest(request)
			if err != nil {
				return "", err
			}
			ans, err := wk.AuthorizeWrite(ctx, rq)
			if err != nil {
				return "", fmt.Errorf("%w: %w", sscard.ErrHSM, err)
			}
			return ans.String(), nil
		},
	}
}

// journalIgnored says that --journal has no effect through sscd.
func (a *app) journalIgnored(path string) {
	if path != "" {
		fmt.Fprintln(a.stderr, "sscctl: --journal ignored: sscd journals the issuance (issue_journal)")
	}
}

// readJournalArgs reads the journal of a status command after checking its
// --journal and --card-id arguments.
func readJournalArgs(path, cardID string) ([]sscard.JournalEntry, error) {
	if path == "" || cardID == "" {
		return nil, usagef("give --journal FILE and --card-id HEX")
	}
	if _, err := hex.DecodeString(cardID); err != nil || len(cardID) != 32 {
		return nil, usagef("--card-id: want 32 hex digits")
	}
	return sscard.ReadJournal(path)
}

// openIssueSession opens the card and the journal of --journal (none:
// j is nil) for a direct issuance; closeAll closes both.
func (a *app) openIssueSession(ctx context.Context, journalPath string) (sess *sscard.Session, j sscard.Journal, closeAll func(), err error) {
	j, closeJournal, err := stack.OpenJournal(journalPath)
	if err != nil {
		return nil, nil, nil, err
	}
	sess, _, closeCard, err := a.openSession(ctx)
	if err != nil {
		closeJournal()
		return nil, nil, nil, err
	}
	return sess, j, func() { closeCard(); closeJournal() }, nil
}
