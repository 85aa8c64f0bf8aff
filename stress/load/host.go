package load

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"time"
)

// HostSpeed is how fast this machine did two fixed pieces of work when
// probed: a unit of CPU work like a request's (JSON encoding and decoding,
// map look-ups, hashing) and a durable 4 KiB write. On a shared virtual
// machine both vary by hour with the neighbours, and so does every load
// figure; a run's report carries them so that runs of different hours can
// be told apart (docs/benchmarks.md).
type HostSpeed struct {
	CPU     time.Duration // median time of one CPU unit
	Syncs   int           // durable writes timed (0: not probed)
	Dir     string        // where they were written
	SyncP50 time.Duration // their median (write + fdatasync)
	SyncP99 time.Duration
}

// hostUnits and hostSyncs are how many of each a probe times.
const (
	hostUnits = 31
	hostSyncs = 300
)

// ProbeHost times hostUnits CPU units and, when dir is not empty,
// hostSyncs durable writes of 4 KiB in a temporary file of dir (removed
// afterwards). It takes a fifth of a second or so on this project's machine.
func ProbeHost(ctx context.Context, dir string) (HostSpeed, error) {
	var h HostSpeed
	d := make([]time.Duration, hostUnits)
	for i := range d {
		if err := ctx.Err(); err != nil {
			return h, err
		}
		t := time.Now()
		if err := cpuUnit(); err != nil {
			return h, err
		}
		d[i] = time.Since(t)
	}
	slices.Sort(d)
	h.CPU = d[len(d)/2]
	if dir == "" {
		return h, nil
	}
	f, err := os.CreateTemp(dir, "loadgen-probe-")
	if err != nil {
		return h, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	page := make([]byte, 4096)
	s := make([]time.Duration, 0, hostSyncs)
	for i := range hostSyncs {
		if err := ctx.Err(); err != nil {
			return h, err
		}
		page[0] = byte(i)
		t := time.Now()
		// Appends, as a WAL does, within the first MiB (then over again).
		if _, err := f.WriteAt(page, int64(i%256)*4096); err != nil {
			return h, err
		}
		if err := datasync(f); err != nil {
			return h, err
		}
		s = append(s, time.Since(t))
	}
	slices.Sort(s)
	h.Syncs, h.Dir, h.SyncP50, h.SyncP99 = len(s), dir, s[len(s)/2], s[len(s)*99/100]
	return h, nil
}

// unitDoc is the document a CPU unit encodes and decodes: a page of case
// summaries, as a list query answers.
type unitDoc struct {
	Items []unitItem `json:"items"`
}

type unitItem struct {
	ID      string            `json:"id"`
	Number  int               `json:"number"`
	State   string            `json:"state"`
	Subject string            `json:"subject"`
	Opened  time.Time         `json:"openedAt"`
	Extra   map[string]string `json:"extra"`
}

// cpuUnit is one unit of CPU work: 50 summaries encoded, decoded and
// hashed, with their maps filled and read, ten times over.
func cpuUnit() error {
	base := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	var sum [32]byte
	for r := range 10 {
		doc := unitDoc{Items: make([]unitItem, 50)}
		for i := range doc.Items {
			n := r*50 + i
			doc.Items[i] = unitItem{ID: "CASO-" + strconv.Itoa(n), Number: n, State: "abierto",
				Subject: fmt.Sprintf("Consulta %d sobre la afiliación de un trabajador", n),
				Opened:  base.Add(time.Duration(n) * time.Minute),
				Extra:   map[string]string{"materia": "Afiliación", "unidad": strconv.Itoa(n % 52), "origen": "autorizado"}}
		}
		b, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		var back unitDoc
		if err := json.Unmarshal(b, &back); err != nil {
			return err
		}
		for _, it := range back.Items {
			if it.Extra["materia"] == "" {
				return fmt.Errorf("cpu unit: lost a field")
			}
		}
		sum = sha256.Sum256(append(b, sum[:]...))
	}
	_ = sum
	return nil
}

// Report writes the probe as one line, named by when (e.g. "before").
func (h HostSpeed) Report(out io.Writer, when string) {
	line := fmt.Sprintf("host %s: CPU unit %s (median of %d)", when, usText(h.CPU), hostUnits)
	if h.Syncs > 0 {
		line += fmt.Sprintf("; 4 KiB write + fdatasync p50 %s, p99 %s (%d, in %s)", usText(h.SyncP50), usText(h.SyncP99), h.Syncs, h.Dir)
	}
	fmt.Fprintln(out, line)
}

func usText(d time.Duration) string {
	return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
}
