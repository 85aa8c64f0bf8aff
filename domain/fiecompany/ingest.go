package fiecompany

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"redengine/clock"
	"redengine/commands"
	"redengine/errs"
	"redengine/eventstore"
	"redengine/fie"
)

// MaxRecordsPerAppend bounds one append to a company stream: a record is
// well under 1 KiB of JSON, so an append stays under about 0.5 MiB.
const MaxRecordsPerAppend = 500

// DefaultParallel is how many company streams an import writes at once;
// concurrent appends share the event store's group commits.
const DefaultParallel = 8

// Ingester puts FIE records on their company streams through the command
// pipeline.
//
// Records of a file are appended to their company streams directly, with
// the expected revision Any, rather than through Handler.Handle: the
// decision (Receive) depends on the records alone, never on what the stream
// holds (observations published by the INSS are facts, and every one is
// kept), so folding the company's whole history on each import, and reading
// back what was just written, would only cost time that grows with the
// company's history. The rails are the pipeline's all the same: the same
// decision, the same metadata, event IDs derived from a command ID
// (commands.EventID), so a chunk appended again after an interrupted import
// is recognised by the store and written once. JSON records go through
// Handler.Handle, where a repeated Idempotency-Key must be reported.
type Ingester struct {
	Companies *commands.Handler[State]
	Imports   *commands.Handler[ImportState]
	// Store and Clock serve the direct appends of file imports; when nil,
	// files go through Companies.Handle too.
	Store eventstore.Store
	Clock clock.Clock
	// Hold, when set, is called before the records of a file are written
	// and its release after: the engine holds the FIER read model back
	// meanwhile (projections.Gate), so that the import has the cores.
	Hold func() (release func())
	// Parallel is how many companies are written concurrently (default
	// DefaultParallel): appends in flight at once, which the event store
	// commits together.
	Parallel int
}

// Counts are the companies, workers and benefit records of a batch.
type Counts struct {
	Companies int `json:"companies"`
	Workers   int `json:"workers"`
	Records   int `json:"records"`
}

// ImportResult is the outcome of a file import.
type ImportResult struct {
	Hash     string
	FileDate fie.Date
	Counts
	// Duplicate is true when the same file had been imported before; the
	// counts, position and time are those of the first import.
	Duplicate  bool
	Position   eventstore.Position // of the FicheroFIEImportado event, after every record of the file
	ImportedAt time.Time
}

// ImportFile imports a whole FIE 2.0 file: a file already imported (same
// SHA-256) is not stored again and its first import is returned with
// Duplicate set; a malformed file is refused whole with a *fie.ParseError
// and nothing is stored; otherwise every record becomes an event on its
// company stream and, last, the import is recorded on
// fieimport-<hash>. meta's command ID is ignored: the IDs derive from the
// file's hash, so an import interrupted halfway and sent again completes
// without writing any record twice.
func (in *Ingester) ImportFile(ctx context.Context, body []byte, meta commands.Meta) (ImportResult, error) {
	hash := fie.HashBytes(body)
	if res, ok, err := in.imported(ctx, hash); err != nil || ok {
		return res, err
	}
	f, err := fie.Parse(bytes.NewReader(body))
	if err != nil {
		return ImportResult{}, err
	}
	return in.importParsed(ctx, f, hash, len(body), meta)
}

// ImportReader is ImportFile of a file read from r as it arrives (a request
// body, a file on disk): read, hashed and parsed in one pass, without
// holding its bytes. A file already imported is recognised once it has been
// read whole, from its hash (ImportFile looks before parsing); a read error
// is returned wrapped, so errors.As finds it.
func (in *Ingester) ImportReader(ctx context.Context, r io.Reader, meta commands.Meta) (ImportResult, error) {
	f, hash, size, err := fie.ParseHashed(r)
	if err != nil {
		return ImportResult{}, err
	}
	if res, ok, err := in.imported(ctx, hash); err != nil || ok {
		return res, err
	}
	return in.importParsed(ctx, f, hash, int(size), meta)
}

// imported returns the first import of the file of hash, with Duplicate
// set, when it was imported before (ok).
func (in *Ingester) imported(ctx context.Context, hash string) (res ImportResult, ok bool, err error) {
	prior, err := in.Imports.Load(ctx, hash)
	if err != nil {
		return ImportResult{}, false, errs.E(errs.Op("fiecompany.ImportFile"), err)
	}
	if !prior.State.Imported {
		return ImportResult{}, false, nil
	}
	return importResult(prior.State, prior.Position, true), true, nil
}

// importParsed writes a parsed file of hash (size bytes) not imported
// before: its records on the company streams, then the import's record.
func (in *Ingester) importParsed(ctx context.Context, f *fie.File, hash string, size int, meta commands.Meta) (ImportResult, error) {
	const op = errs.Op("fiecompany.ImportFile")
	batches := groupFile(f)
	obs := Observation{Source: SourceFile, FileHash: hash, FileDate: f.Date}
	base := commands.IDFromKey("fie import", hash)
	if in.Hold != nil {
		release := in.Hold()
		defer release()
	}
	var err error
	if in.Store == nil || in.Clock == nil {
		_, err = in.write(ctx, base, meta, obs, batches, in.handleChunk)
	} else {
		err = in.writeFile(ctx, base, meta, obs, batches)
	}
	if err != nil {
		return ImportResult{}, errs.E(op, err)
	}
	c, w, r := f.Counts()
	meta.CommandID = base
	res, err := in.Imports.Handle(ctx, hash, meta, RecordImport(FileImported{
		Hash: hash, FileDate: f.Date, Bytes: size, Companies: c, Workers: w, Records: r,
	}))
	if err != nil {
		return ImportResult{}, errs.E(op, err)
	}
	// A concurrent import of the same file may have recorded it first:
	// either way the file is stored once and res.State is the record.
	return importResult(res.State, res.Position, res.Duplicate || len(res.Events) == 0), nil
}

func importResult(s ImportState, pos eventstore.Position, dup bool) ImportResult {
	return ImportResult{Hash: s.File.Hash, FileDate: s.File.FileDate, Duplicate: dup, Position: pos, ImportedAt: s.ImportedAt,
		Counts: Counts{Companies: s.File.Companies, Workers: s.File.Workers, Records: s.File.Records}}
}

// ReceiveResult is the outcome of ReceiveRecords.
type ReceiveResult struct {
	Counts
	Duplicate bool                // the command had been handled before; nothing was appended
	Position  eventstore.Position // the highest position written
}

// ReceiveRecords puts records given as JSON on their company streams. The
// records must be valid (see fie.Record.Validate). meta.CommandID (from an
// Idempotency-Key) makes the whole call idempotent: each company append
// derives its command ID from it.
func (in *Ingester) ReceiveRecords(ctx context.Context, records []fie.Record, meta commands.Meta) (ReceiveResult, error) {
	const op = errs.Op("fiecompany.ReceiveRecords")
	if meta.CommandID == uuid.Nil {
		meta.CommandID = commands.NewCommandID()
	}
	batches := groupRecords(records)
	out, err := in.write(ctx, meta.CommandID, meta, Observation{Source: SourceAPI}, batches, in.handleChunk)
	if err != nil {
		return ReceiveResult{}, errs.E(op, err)
	}
	out.Counts = countRecords(records)
	return out, nil
}

// companyBatch is the records of one company, in order: given (JSON) or
// read from the company's EMP groups of a file as they are written, so an
// import does not hold a second copy of the file's records.
type companyBatch struct {
	id      string
	records []fie.Record
	groups  []*fie.Company
}

// chunks yields the batch's records in slices of at most
// MaxRecordsPerAppend; a slice is valid until the next one.
func (b *companyBatch) chunks(yield func([]fie.Record) bool) {
	if b.groups == nil {
		for start := 0; start < len(b.records); start += MaxRecordsPerAppend {
			if !yield(b.records[start:min(start+MaxRecordsPerAppend, len(b.records))]) {
				return
			}
		}
		return
	}
	n := 0
	for _, c := range b.groups {
		for wi := range c.Workers {
			n += len(c.Workers[wi].Benefits)
		}
	}
	// Most companies have far fewer records than a chunk holds: a buffer
	// of MaxRecordsPerAppend for each was most of an import's allocations.
	buf := make([]fie.Record, 0, min(n, MaxRecordsPerAppend))
	for _, c := range b.groups {
		for wi := range c.Workers {
			w := &c.Workers[wi]
			for bi := range w.Benefits {
				buf = append(buf, fie.NewRecord(c, w, &w.Benefits[bi]))
				if len(buf) == MaxRecordsPerAppend {
					if !yield(buf) {
						return
					}
					buf = buf[:0]
				}
			}
		}
	}
	if len(buf) > 0 {
		yield(buf)
	}
}

func groupFile(f *fie.File) []companyBatch {
	idx := map[string]int{}
	var out []companyBatch
	for ci := range f.Companies {
		c := &f.Companies[ci]
		id := CompanyID(c.Regimen, c.CCC)
		i, ok := idx[id]
		if !ok {
			i = len(out)
			idx[id] = i
			out = append(out, companyBatch{id: id})
		}
		out[i].groups = append(out[i].groups, c)
	}
	return out
}

func groupRecords(records []fie.Record) []companyBatch {
	idx := map[string]int{}
	var out []companyBatch
	for _, r := range records {
		id := CompanyID(r.Regimen, r.CCC)
		i, ok := idx[id]
		if !ok {
			i = len(out)
			idx[id] = i
			out = append(out, companyBatch{id: id})
		}
		out[i].records = append(out[i].records, r)
	}
	return out
}

func countRecords(records []fie.Record) Counts {
	companies := map[string]bool{}
	workers := map[[2]string]bool{}
	for _, r := range records {
		companies[CompanyID(r.Regimen, r.CCC)] = true
		workers[[2]string{r.CCC, r.NAF}] = true
	}
	return Counts{Companies: len(companies), Workers: len(workers), Records: len(records)}
}

// write appends the batches, companies in parallel and each company's
// records in chunks of MaxRecordsPerAppend, each chunk a command whose ID
// derives from base, the company and the chunk's index.
func (in *Ingester) write(ctx context.Context, base uuid.UUID, meta commands.Meta, obs Observation, batches []companyBatch, put chunkFunc) (ReceiveResult, error) {
	g, gctx := errgroup.WithContext(ctx)
	var (
		mu   sync.Mutex
		out  = ReceiveResult{Duplicate: len(batches) > 0}
		work = make(chan *companyBatch)
	)
	for range min(in.parallel(), len(batches)) {
		g.Go(func() error {
			for b := range work {
				chunk := 0
				for recs := range b.chunks {
					m := meta
					m.CommandID = chunkCommandID(base, b.id, chunk)
					chunk++
					res, err := put(gctx, b.id, m, Receive(b.id, obs, recs))
					if err != nil {
						return err
					}
					mu.Lock()
					if out.Position.Less(res.Position) {
						out.Position = res.Position
					}
					out.Duplicate = out.Duplicate && res.Duplicate
					mu.Unlock()
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(work)
		for i := range batches {
			select {
			case work <- &batches[i]:
			case <-gctx.Done():
				return nil
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return ReceiveResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return ReceiveResult{}, errs.E(errs.Unavailable, err)
	}
	return out, nil
}

// parallel is Parallel or its default.
func (in *Ingester) parallel() int {
	if in.Parallel <= 0 {
		return DefaultParallel
	}
	return in.Parallel
}

// chunkCommandID is the command ID of a company's chunk-th chunk of an
// import or a call whose command ID is base.
func chunkCommandID(base uuid.UUID, company string, chunk int) uuid.UUID {
	return uuid.NewSHA1(base, []byte(company+"#"+strconv.Itoa(chunk)))
}

// chunkFunc writes one chunk of a company's records as one command.
type chunkFunc func(ctx context.Context, id string, meta commands.Meta, decide commands.Decide[State]) (chunkResult, error)

type chunkResult struct {
	Position  eventstore.Position
	Duplicate bool
}

// handleChunk runs the chunk through the command pipeline.
func (in *Ingester) handleChunk(ctx context.Context, id string, meta commands.Meta, decide commands.Decide[State]) (chunkResult, error) {
	res, err := in.Companies.Handle(ctx, id, meta, decide)
	return chunkResult{Position: res.Position, Duplicate: res.Duplicate}, err
}

// writeFile appends the chunks of a file's companies with the expected
// revision Any (see Ingester). One goroutine decides and encodes the chunks
// in file order ahead of the appends, and Parallel appenders, each with a
// lane of its own, append them: a company's chunks all go through one lane,
// so they keep their order, and the event store's writer always finds
// prepared appends waiting to share a commit instead of waiting for the
// next one to be encoded.
func (in *Ingester) writeFile(ctx context.Context, base uuid.UUID, meta commands.Meta, obs Observation, batches []companyBatch) error {
	const op = errs.Op("fiecompany.append")
	type prepared struct {
		stream string
		events []eventstore.EventData
	}
	g, gctx := errgroup.WithContext(ctx)
	lanes := make([]chan prepared, max(1, min(in.parallel(), len(batches))))
	for i := range lanes {
		lane := make(chan prepared, laneDepth)
		lanes[i] = lane
		g.Go(func() error {
			for p := range lane {
				if _, err := in.Store.Append(gctx, p.stream, eventstore.Any, p.events...); err != nil {
					return errs.E(op, err) // the producer stops at its next send
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		defer func() {
			for _, lane := range lanes {
				close(lane)
			}
		}()
		for bi := range batches {
			b := &batches[bi]
			chunk := 0
			for recs := range b.chunks {
				m := meta
				m.CommandID = chunkCommandID(base, b.id, chunk)
				chunk++
				// recs is valid until the next chunk: encoded here, before it.
				stream, events, err := in.prepareChunk(b.id, m, Receive(b.id, obs, recs))
				if err != nil {
					return err
				}
				if len(events) == 0 {
					continue
				}
				select {
				case lanes[bi%len(lanes)] <- prepared{stream, events}:
				case <-gctx.Done():
					return nil
				}
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return errs.E(errs.Unavailable, err)
	}
	return nil
}

// laneDepth is how many prepared chunks wait in each appender's lane.
const laneDepth = 2

// prepareChunk decides a chunk and encodes its events, with the pipeline's
// IDs and metadata.
func (in *Ingester) prepareChunk(id string, meta commands.Meta, decide commands.Decide[State]) (string, []eventstore.EventData, error) {
	const op = errs.Op("fiecompany.append")
	agg := in.Companies.Aggregate()
	now := in.Clock.Now()
	evs, err := decide(State{}, now)
	if err != nil || len(evs) == 0 {
		return "", nil, err
	}
	md := meta.Metadata(now)
	stream := agg.Stream(id)
	proposed := make([]eventstore.EventData, len(evs))
	ids := commands.EventIDs(meta.CommandID, stream)
	for i, ev := range evs {
		name, version, data, err := agg.Codec.Encode(ev)
		if err != nil {
			return "", nil, errs.E(op, err)
		}
		proposed[i] = eventstore.EventData{ID: ids(i), Type: name, SchemaVersion: version, Data: data, Metadata: md, Marshaled: true}
	}
	return stream, proposed, nil
}
