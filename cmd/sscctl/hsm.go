package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sscard/ssc/sscard"
)

func (a *app) hsmCommand() *cobra.Command {
	var hsmName string
	var all bool
	cmd := &cobra.Command{
		Use:   "hsm",
		Short: "Run the HSM two-step authentication of a 3rd-gen card and read its basic information",
		Long: "hsm runs the ministry's two-step flow (iReadCardBas_HSM_Step1/Step2) and shows both steps.\n\n" +
			"  sscctl hsm --hsm sim      both steps with the software HSM (software cards only)\n" +
			"  sscctl hsm --hsm URL      both steps with an HTTP key system\n" +
			"  sscctl hsm step1          print the Step-1 string, then read RESULT1|RESULT2| from stdin\n" +
			"                            (paste the key system's answer): the card stays in one\n" +
			"                            transaction between the steps, without reset.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			hsm, err := parseHSM(hsmName)
			if err != nil {
				return err
			}
			if hsm == nil {
				return usagef("give --hsm sim or --hsm URL, or use `sscctl hsm step1` to paste the answer yourself")
			}
			return a.runHSM(cmd.Context(), all, func(ctx context.Context, st sscard.Step1) (sscard.Step2Input, error) {
				a.hsmLine("step 1", st.String())
				ans, err := hsm.Authenticate(ctx, st)
				if err != nil {
					return ans, fmt.Errorf("%w: %w", sscard.ErrHSM, err)
				}
				a.hsmLine("step 2 input", ans.String())
				return ans, nil
			})
		},
	}
	cmd.Flags().StringVar(&hsmName, "hsm", os.Getenv("SSC_HSM"), "HSM: sim or an http(s) URL (env SSC_HSM)")
	cmd.Flags().BoolVar(&all, "all", false, "read every EF05/EF06 field, not only the iReadCardBas set")

	step1 := &cobra.Command{
		Use:   "step1",
		Short: "Print the Step-1 string and read the key system's RESULT1|RESULT2| line from stdin",
		Long: "step1 prints the 8-field Step-1 string (region|ATR|alg|cardID|F1|O1|F2|O2|) on stdout as one " +
			"line, then waits for the line RESULT1|RESULT2| on stdin and finishes the read in the same card " +
			"transaction. With --json the Step-1 line is a one-line JSON object and the result a JSON document.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runHSM(cmd.Context(), all, func(ctx context.Context, st sscard.Step1) (sscard.Step2Input, error) {
				if a.json {
					b, err := json.Marshal(struct {
						Step1  string       `json:"step1"`
						Fields sscard.Step1 `json:"fields"`
					}{st.String(), st})
					if err != nil {
						return sscard.Step2Input{}, err
					}
					fmt.Fprintf(a.stdout, "%s\n", b)
				} else {
					fmt.Fprintln(a.stdout, st.String())
				}
				if isTerminal(a.stdin) {
					fmt.Fprintln(a.stderr, "paste the key system's answer RESULT1|RESULT2| and press Enter:")
				}
				line, err := readLine(ctx, a.stdin)
				if err != nil {
					return sscard.Step2Input{}, err
				}
				return sscard.ParseStep2Input(strings.TrimSpace(line))
			})
		},
	}
	step1.Flags().BoolVar(&all, "all", false, "read every EF05/EF06 field, not only the iReadCardBas set")
	cmd.AddCommand(step1)
	return cmd
}

// hsmLine prints one step of `hsm --hsm` (text) or nothing (JSON: all at the end).
func (a *app) hsmLine(label, value string) {
	if !a.json {
		fmt.Fprintf(a.stdout, "%-13s %s\n", label+":", value)
	}
}

// runHSM opens the card, begins the two-step read, gets the answer from
// answer (with the transaction held) and completes it.
func (a *app) runHSM(ctx context.Context, all bool, answer func(context.Context, sscard.Step1) (sscard.Step2Input, error)) error {
	if done, err := a.hsmViaDaemon(ctx, all, answer); done || err != nil {
		return err
	}
	sess, card, closeAll, err := a.openSession(ctx)
	if err != nil {
		return err
	}
	defer closeAll()
	ro := sscard.ReadOptions{}
	if all {
		ro.Fields = sscard.FieldsAll
	}
	req, err := sess.BeginHSM(ctx, ro)
	if err != nil {
		return err
	}
	defer req.Abort()
	st := req.Step1()
	ans, err := answer(ctx, st)
	if err != nil {
		return err
	}
	info, err := req.Complete(ctx, ans)
	if err != nil {
		return err
	}
	if a.json {
		return writeJSON(a.stdout, struct {
			Reader     string            `json:"reader"`
			Step1      string            `json:"step1"`
			Step2Input string            `json:"step2_input"`
			Info       *sscard.BasicInfo `json:"info"`
		}{card.Reader(), st.String(), ans.String(), info})
	}
	fmt.Fprintln(a.stdout)
	return printInfo(a, info, card.Reader(), card.Protocol())
}

// readLine reads one line from r, giving up when ctx ends.
func readLine(ctx context.Context, r io.Reader) (string, error) {
	type res struct {
		s   string
		err error
	}
	ch := make(chan res, 1)
	go func() {
		l, err := bufio.NewReader(r).ReadString('\n')
		ch <- res{l, err}
	}()
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case x := <-ch:
		if x.err != nil && (x.err != io.EOF || x.s == "") {
			return "", fmt.Errorf("no answer on stdin: %w", x.err)
		}
		return x.s, nil
	}
}
