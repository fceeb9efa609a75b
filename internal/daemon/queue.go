package daemon

import (
	"context"
	"slices"
	"sync"
)

// queues hands out one FIFO lock per reader name: card operations on a
// reader run one at a time, in the order they arrived.
type queues struct {
	mu sync.Mutex
	m  map[string]*fifo
}

// fifo is a fair lock: waiters are served in arrival order, and a waiter
// whose context ends leaves the line.
type fifo struct {
	held    bool
	waiting []chan struct{} // closed when it is that waiter's turn
}

// lock waits for the reader's turn; the returned func releases it.
func (q *queues) lock(ctx context.Context, name string) (func(), error) {
	q.mu.Lock()
	if q.m == nil {
		q.m = map[string]*fifo{}
	}
	f := q.m[name]
	if f == nil {
		f = &fifo{}
		q.m[name] = f
	}
	if !f.held {
		f.held = true
		q.mu.Unlock()
		return q.releaser(f), nil
	}
	turn := make(chan struct{})
	f.waiting = append(f.waiting, turn)
	q.mu.Unlock()
	select {
	case <-turn:
		return q.releaser(f), nil
	case <-ctx.Done():
		q.mu.Lock()
		defer q.mu.Unlock()
		if i := slices.Index(f.waiting, turn); i >= 0 {
			f.waiting = slices.Delete(f.waiting, i, i+1)
			return nil, ctx.Err()
		}
		// Our turn came just as ctx ended: pass it on.
		q.handOver(f)
		return nil, ctx.Err()
	}
}

func (q *queues) releaser(f *fifo) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			q.mu.Lock()
			defer q.mu.Unlock()
			q.handOver(f)
		})
	}
}

// handOver gives the lock to the first waiter, or frees it. q.mu is held.
func (q *queues) handOver(f *fifo) {
	if len(f.waiting) == 0 {
		f.held = false
		return
	}
	close(f.waiting[0])
	f.waiting = f.waiting[1:]
}

// waiters is the number of operations waiting for the reader.
func (q *queues) waiters(name string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if f := q.m[name]; f != nil {
		return len(f.waiting)
	}
	return 0
}

// lengths is the number of operations waiting, per reader (metrics).
func (q *queues) lengths() map[string]int {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make(map[string]int, len(q.m))
	for name, f := range q.m {
		out[name] = len(f.waiting)
	}
	return out
}
