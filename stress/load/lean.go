package load

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// NewLeanClient returns a client for the engine at base (http only) that
// speaks HTTP/1.1 on kept-alive loopback connections itself, one request
// at a time per connection, in the caller's goroutine. net/http's Transport
// runs a read and a write goroutine per connection and hands every request
// and answer between them and the caller: on the two cores the engine shares
// with its load generator, that hand-off was most of the generator's CPU
// (0.12–0.13 CPU-ms per request, a fifth of the machine at saturation).
// The engine sees the same requests either way; cmd/loadgen uses this
// client unless told -client std.
func NewLeanClient(base string, conc int) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" || u.Host == "" {
		return nil, errors.New("load: the lean client speaks plain http to host:port, not " + base)
	}
	c := NewClient(base, conc)
	c.lean = &leanPool{host: u.Host, idle: make([]*leanConn, 0, conc)}
	return c, nil
}

// leanPool keeps the idle connections of a lean client.
type leanPool struct {
	host string
	mu   sync.Mutex
	idle []*leanConn
}

// leanConn is one kept-alive connection with its buffers.
type leanConn struct {
	c  net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

func (p *leanPool) get(ctx context.Context) (*leanConn, bool, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		lc := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return lc, true, nil
	}
	p.mu.Unlock()
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "tcp", p.host)
	if err != nil {
		return nil, false, err
	}
	return &leanConn{c: c, br: bufio.NewReaderSize(c, 16<<10), bw: bufio.NewWriterSize(c, 8<<10)}, false, nil
}

func (p *leanPool) put(lc *leanConn) {
	p.mu.Lock()
	p.idle = append(p.idle, lc)
	p.mu.Unlock()
}

// do sends one request on a pooled connection and reads its answer. A
// kept-alive connection the server closed meanwhile is retried once on a
// new one when nothing of an answer came (what net/http does too).
func (p *leanPool) do(ctx context.Context, method, path, ctype string, body []byte, hdr [][2]string) (*http.Response, []byte, error) {
	for attempt := 0; ; attempt++ {
		lc, reused, err := p.get(ctx)
		if err != nil {
			return nil, nil, ctxErr(ctx, err)
		}
		resp, raw, keep, err := lc.roundTrip(ctx, p.host, method, path, ctype, body, hdr)
		if err == nil {
			if resp.Close || !keep {
				lc.c.Close()
			} else {
				p.put(lc)
			}
			return resp, raw, nil
		}
		lc.c.Close()
		if !reused || attempt > 0 || !stale(err) || ctx.Err() != nil {
			return nil, nil, ctxErr(ctx, err)
		}
	}
}

// ctxErr returns the context's error in place of err when the context's
// deadline has passed: the connection's deadline (the context's) can fire a
// moment before the context itself is done, and the caller must see that
// the run ended, not a failure.
func ctxErr(ctx context.Context, err error) error {
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		<-ctx.Done()
		return ctx.Err()
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	return err
}

// stale reports an error of a kept-alive connection the server had closed.
func stale(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// roundTrip exchanges one request and answer; keep is false when the
// connection must not be reused (its context ended meanwhile and may have
// cut its deadline short).
func (lc *leanConn) roundTrip(ctx context.Context, host, method, path, ctype string, body []byte, hdr [][2]string) (resp *http.Response, raw []byte, keep bool, err error) {
	deadline := time.Now().Add(60 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := lc.c.SetDeadline(deadline); err != nil {
		return nil, nil, false, err
	}
	// A cancelled context interrupts the exchange at once; a connection
	// whose context ended is not reused (the cut may land after the
	// answer).
	stop := context.AfterFunc(ctx, func() { _ = lc.c.SetDeadline(time.Unix(1, 0)) })
	defer func() { keep = stop() && keep }()
	w := lc.bw
	w.WriteString(method)
	w.WriteByte(' ')
	w.WriteString(path)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(host)
	w.WriteString("\r\nUser-Agent: redengine-loadgen\r\n")
	if ctype != "" {
		w.WriteString("Content-Type: ")
		w.WriteString(ctype)
		w.WriteString("\r\n")
	}
	for _, h := range hdr {
		w.WriteString(h[0])
		w.WriteString(": ")
		w.WriteString(h[1])
		w.WriteString("\r\n")
	}
	if body != nil || method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
		w.WriteString("Content-Length: ")
		w.WriteString(strconv.Itoa(len(body)))
		w.WriteString("\r\n")
	}
	w.WriteString("\r\n")
	w.Write(body)
	if err := w.Flush(); err != nil {
		return nil, nil, false, err
	}
	if resp, err = http.ReadResponse(lc.br, nil); err != nil {
		return nil, nil, false, err
	}
	raw, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, nil, false, err
	}
	return resp, raw, true, nil
}
