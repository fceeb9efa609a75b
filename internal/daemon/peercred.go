package daemon

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/sscard/ssc/sscd"
)

type peerKey struct{}

// peer is the credentials of the process at the other end of a connection,
// read once per connection with SO_PEERCRED (they are those of the process
// that connected, which the kernel vouches for).
type peer struct {
	ok       bool
	pid      int32
	uid, gid uint32
}

// connContext stores the peer credentials of a Unix connection.
func connContext(ctx context.Context, c net.Conn) context.Context {
	ctx = limitContext(ctx, c)
	c = unwrapConn(c)
	var p peer
	if uc, ok := c.(*net.UnixConn); ok {
		if raw, err := uc.SyscallConn(); err == nil {
			raw.Control(func(fd uintptr) {
				cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
				if err == nil {
					p = peer{ok: true, pid: cred.Pid, uid: cred.Uid, gid: cred.Gid}
				}
			})
		}
	}
	return context.WithValue(ctx, peerKey{}, p)
}

// allowed applies the allowlists: none configured lets everyone who can
// open the socket in (the file mode and group are the gate); otherwise the
// peer's uid or primary gid must be listed. Unknown credentials are refused.
func (d *Daemon) allowed(r *http.Request) bool {
	cfg := &d.conf().cfg
	if len(cfg.AllowUIDs) == 0 && len(cfg.AllowGIDs) == 0 {
		return true
	}
	p := peerOf(r)
	if !p.ok {
		return false
	}
	return slices.Contains(cfg.AllowUIDs, p.uid) || slices.Contains(cfg.AllowGIDs, p.gid)
}

// isAdmin says whether the peer may use the administrators' endpoints.
func (d *Daemon) isAdmin(r *http.Request) bool {
	a := &d.conf().cfg.Admin
	p := peerOf(r)
	if !p.ok {
		return false
	}
	if len(a.UIDs) == 0 && len(a.GIDs) == 0 {
		return p.uid == 0
	}
	return slices.Contains(a.UIDs, p.uid) || slices.Contains(a.GIDs, p.gid)
}

// peerOf returns the credentials of the request's connection.
func peerOf(r *http.Request) peer {
	p, _ := r.Context().Value(peerKey{}).(peer)
	return p
}

// clientName names the peer in the audit log: the verified origin of a
// browser bridge request, the uid of a socket peer.
func clientName(r *http.Request) string {
	if o := bridgeOrigin(r); o != "" {
		return "origin:" + o
	}
	if p := peerOf(r); p.ok {
		return fmt.Sprintf("uid:%d", p.uid)
	}
	return "unknown"
}

func (d *Daemon) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !d.allowed(r) {
			writeError(w, sscd.Errorf(sscd.CodeForbidden, "peer not in the allowlist"))
			return
		}
		next.ServeHTTP(w, r)
	})
}
