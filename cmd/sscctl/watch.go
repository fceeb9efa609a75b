package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sscard/ssc/reader"
)

func (a *app) watchCommand() *cobra.Command {
	var count int
	var timeout time.Duration
	var until string
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Print reader and card events as they happen (like pcsc_scan)",
		Long: "watch prints the current readers and cards, then every insertion and removal, one event a line " +
			"(--json: one JSON object a line). Each insertion gets a new insertion number, so the same card " +
			"re-inserted is told apart from one that stayed in.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if count < 0 || timeout < 0 {
				return usagef("--count and --timeout must not be negative")
			}
			if until != "" && !validEventType(until) {
				return usagef("--until: unknown event type %q", until)
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			if timeout > 0 {
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			enc := json.NewEncoder(a.stdout)
			n := 0
			cards := map[string]bool{} // reader → card present, for --until
			finished := false
			// handle prints ev and says whether watch is done.
			handle := func(ev reader.Event) (bool, error) {
				// --reader narrows the stream to readers it matches.
				if a.reader() != "" && ev.Reader != "" && !strings.Contains(strings.ToLower(ev.Reader), strings.ToLower(a.reader())) {
					return false, nil
				}
				if a.json {
					if err := enc.Encode(ev); err != nil {
						return true, err
					}
				} else {
					fmt.Fprintln(a.stdout, formatEvent(ev))
				}
				if ev.Type != reader.SnapshotDone {
					n++
				}
				finished = (count > 0 && n >= count) || (until != "" && reached(until, ev, cards))
				return finished, nil
			}
			if c := a.daemonClient(ctx); c != nil {
				var herr error
				err := a.watchViaDaemon(ctx, c, func(ev reader.Event) bool {
					done, err := handle(ev)
					herr = err
					return !done && err == nil
				})
				if herr != nil {
					return herr
				}
				if err != nil || finished {
					return err
				}
			} else {
				sys, err := a.system()
				if err != nil {
					return err
				}
				defer sys.Close()
				events, err := sys.Watch(ctx)
				if err != nil {
					return err
				}
				for ev := range events {
					done, err := handle(ev)
					if err != nil {
						return err
					}
					if done {
						return nil
					}
				}
			}
			if until != "" {
				if err := ctx.Err(); err != nil && cmd.Context().Err() == nil {
					return fmt.Errorf("no %s event within %v", until, timeout)
				}
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&count, "count", 0, "exit after this many events (snapshot included, snapshot-done markers not counted)")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "exit after this long")
	cmd.Flags().StringVar(&until, "until", "", "exit once this happened: card-inserted and card-removed wait for that state of a (--reader) reader, others for the event; with --timeout, not reaching it is an error")
	return cmd
}

// reached tells whether --until is satisfied. For card-inserted and
// card-removed it is a state ("a card is in" / "a reader is empty"), so a
// script waiting for it does not miss a change that happened before watch
// started; other types wait for the event itself.
func reached(until string, ev reader.Event, cards map[string]bool) bool {
	switch ev.Type {
	case reader.ReaderAdded:
		cards[ev.Reader] = false
	case reader.CardInserted:
		cards[ev.Reader] = true
	case reader.CardRemoved:
		cards[ev.Reader] = false
	case reader.ReaderRemoved:
		delete(cards, ev.Reader)
	case reader.SnapshotDone:
		for _, present := range cards {
			if (until == "card-removed" && !present) || (until == "card-inserted" && present) {
				return true
			}
		}
		return false
	}
	return ev.Type.String() == until && !ev.Snapshot || (until == "card-inserted" && ev.Type == reader.CardInserted)
}

func validEventType(s string) bool {
	for t := reader.ReaderAdded; t <= reader.BackendError; t++ {
		if t.String() == s {
			return true
		}
	}
	return false
}

func formatEvent(ev reader.Event) string {
	s := fmt.Sprintf("%s %-14s", ev.Time.Format("15:04:05.000"), ev.Type)
	if ev.Reader != "" {
		s += fmt.Sprintf(" %q", ev.Reader)
	}
	if ev.Backend != "" {
		s += " [" + ev.Backend + "]"
	}
	if ev.Insertion != 0 {
		s += fmt.Sprintf(" insertion=%d", ev.Insertion)
	}
	if len(ev.ATR) > 0 {
		s += " atr=" + ev.ATR.String()
	}
	if ev.Snapshot && ev.Type != reader.SnapshotDone {
		s += " (present)"
	}
	if ev.Err != "" {
		s += " error: " + ev.Err
	}
	return s
}
