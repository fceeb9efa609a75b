//go:build cgo && !nopcsc

package scale

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/ebfe/scard"
)

// viewEnv makes the test binary a pcscd viewer (see startViewer).
const viewEnv = "SSC_SCALE_PCSC_VIEW"

// pcscViewer asks a process of its own for pcscd's state of readers.
// libpcsclite 1.9.9 keeps the reader states of all contexts of a process in
// one array that any thread refreshes without a lock, so a view taken in the
// daemon's process while its watcher and operations run can be stale or
// wrong (docs/protocol-notes.md); a separate process has its own.
type pcscViewer struct {
	mu  sync.Mutex
	in  io.WriteCloser
	out *bufio.Reader
}

// startViewer runs this test binary as the viewer; it lives until the test
// ends.
func startViewer(t *testing.T) *pcscViewer {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), viewEnv+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		cmd.Wait()
	})
	return &pcscViewer{in: in, out: bufio.NewReader(out)}
}

// view is pcscd's state of the readers: present and ATR (hex), by name.
func (v *pcscViewer) view(names []string) (map[string]string, error) {
	ans, err := v.ask(names)
	return ans.View, err
}

// state is whether pcscd reports a card in the reader, and the reader's
// event counter (pcscd's count of insertions and removals).
func (v *pcscViewer) state(name string) (present bool, counter uint16, err error) {
	ans, err := v.ask([]string{name})
	if err != nil {
		return false, 0, err
	}
	_, present = ans.View[name]
	return present, ans.Counter[name], nil
}

type viewAnswer struct {
	View    map[string]string `json:"view,omitempty"`
	Counter map[string]uint16 `json:"counter,omitempty"`
	Error   string            `json:"error,omitempty"`
}

func (v *pcscViewer) ask(names []string) (viewAnswer, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	var ans viewAnswer
	if _, err := fmt.Fprintln(v.in, strings.Join(names, "\t")); err != nil {
		return ans, err
	}
	line, err := v.out.ReadBytes('\n')
	if err != nil {
		return ans, err
	}
	if err := json.Unmarshal(line, &ans); err != nil {
		return ans, err
	}
	if ans.Error != "" {
		return ans, fmt.Errorf("pcscd view: %s", ans.Error)
	}
	return ans, nil
}

// runViewer answers view requests (tab-separated reader names, one per
// line) with pcscd's state of those readers, from one context of this
// single-threaded use.
func runViewer() int {
	sctx, err := scard.EstablishContext()
	if err != nil {
		fmt.Fprintln(os.Stderr, "viewer:", err)
		return 1
	}
	defer sctx.Release()
	sc := bufio.NewScanner(os.Stdin)
	enc := json.NewEncoder(os.Stdout)
	for sc.Scan() {
		names := strings.Split(sc.Text(), "\t")
		rs := make([]scard.ReaderState, len(names))
		for i, n := range names {
			rs[i] = scard.ReaderState{Reader: n, CurrentState: scard.StateUnaware}
		}
		ans := viewAnswer{View: map[string]string{}, Counter: map[string]uint16{}}
		if err := sctx.GetStatusChange(rs, 0); err != nil {
			ans.Error = err.Error()
		}
		for _, s := range rs {
			ans.Counter[s.Reader] = uint16(uint32(s.EventState) >> 16)
			if s.EventState&scard.StatePresent != 0 {
				ans.View[s.Reader] = fmt.Sprintf("%X", s.Atr)
			}
		}
		if err := enc.Encode(ans); err != nil {
			return 1
		}
	}
	return 0
}
