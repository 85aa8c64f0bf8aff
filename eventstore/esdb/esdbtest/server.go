// Package esdbtest is a wire-level stand-in for EventStoreDB: an in-process
// gRPC server that implements the Streams service (Append, Read, catch-up
// subscriptions) and ServerFeatures on the interfaces that the official Go
// client module ships, with EventStoreDB's semantics. It exists so the esdb
// adapter can be tested against the real client without a server.
//
// What it mimics, on purpose:
//   - expected revisions (any, no_stream, stream_exists, revision) with the
//     WrongExpectedVersion reply message, not a gRPC status;
//   - idempotent appends: the same event IDs at the same expected revision
//     succeed, write nothing and reply without a position;
//   - stream_not_found on reads of a missing stream; reads include their
//     starting revision or position, subscriptions start after it;
//   - positions that are byte offsets of records: strictly increasing, with
//     gaps, never an event count; an append's reply carries the commit
//     position of its last event and the prepare position of its first (the
//     transaction's), so it equals the last event's position only for a
//     single-event append;
//   - system ($) events in $all (written at start, and on demand);
//   - recorded metadata "type", "content-type" and "created" (.NET ticks);
//   - subscriptions: confirmation, catch-up, caught_up, live; filters by
//     stream or event type (prefixes or regex) with checkpoints.
//
// Test hooks: Drop kills every live subscription, DropAfter makes the server
// drop subscriptions after a number of events, Restart stops and starts
// the server keeping its events, Tamper rewrites a stored event,
// AppendSystem writes a system event.
package esdbtest

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// MaxAppendSize is the largest append request accepted (sum of data and
// custom metadata of its events), as EventStoreDB's default.
const MaxAppendSize = 1 << 20

// firstOffset is where the log begins: like a real log, the first record is
// not at position 0.
const firstOffset = 1024

// record is one stored event. Records are immutable once published; Tamper
// replaces a record with a modified copy.
type record struct {
	id       uuid.UUID
	stream   string
	revision uint64
	commit   uint64
	prepare  uint64
	meta     map[string]string
	custom   []byte
	data     []byte
}

func (r *record) typ() string { return r.meta["type"] }

func (r *record) less(commit, prepare uint64) bool {
	if r.commit != commit {
		return r.commit < commit
	}
	return r.prepare < prepare
}

type streamState struct {
	recs []*record
	ids  map[uuid.UUID]uint64 // event ID → revision
}

// Server is the in-process EventStoreDB stand-in. Its methods are safe for
// concurrent use.
type Server struct {
	mu      sync.Mutex
	log     []*record
	streams map[string]*streamState
	next    uint64        // next byte offset
	changed chan struct{} // closed and replaced on every write
	drop    chan struct{} // closed and replaced by Drop
	subs    int           // subscriptions started
	cut     int           // drop a subscription after it sent this many events (0: never)
	now     func() time.Time

	addr   string
	netMu  sync.Mutex // guards gs and closed
	gs     *grpc.Server
	closed bool
}

// New starts a server on a free loopback port.
func New() (*Server, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{
		streams: make(map[string]*streamState),
		next:    firstOffset,
		changed: make(chan struct{}),
		drop:    make(chan struct{}),
		now:     time.Now,
		addr:    lis.Addr().String(),
	}
	// A fresh EventStoreDB already has system events in $all.
	s.AppendSystem("$$$stats-127.0.0.1:2113", "$metadata")
	s.AppendSystem("$stats-127.0.0.1:2113", "$statsCollected")
	s.AppendSystem("$user-admin", "$user")
	s.serve(lis)
	return s, nil
}

// serve answers on lis with a new gRPC server. s.netMu is held or s is new.
func (s *Server) serve(lis net.Listener) {
	gs := grpc.NewServer()
	streams.RegisterStreamsServer(gs, &streamsService{s: s})
	serverfeatures.RegisterServerFeaturesServer(gs, &featuresService{})
	s.gs = gs
	go func() { _ = gs.Serve(lis) }()
}

// Restart stops the server, ending every call as a crash would, and starts
// it again on the same port with the same events.
func (s *Server) Restart() error {
	s.netMu.Lock()
	defer s.netMu.Unlock()
	if s.closed {
		return fmt.Errorf("esdbtest: restart of a closed server")
	}
	s.gs.Stop()
	lis, err := net.Listen("tcp", s.addr)
	if err != nil {
		return err
	}
	s.serve(lis)
	return nil
}

// Start starts a server for the test and stops it when the test ends. It
// returns the connection string, esdb://127.0.0.1:PORT?tls=false.
func Start(t testing.TB) (string, *Server) {
	t.Helper()
	s, err := New()
	if err != nil {
		t.Fatalf("esdbtest: %v", err)
	}
	t.Cleanup(s.Close)
	return s.URL(), s
}

// URL is the connection string of the server.
func (s *Server) URL() string {
	return "esdb://" + s.addr + "?tls=false"
}

// Close stops the server, ending every call in progress.
func (s *Server) Close() {
	s.netMu.Lock()
	defer s.netMu.Unlock()
	if !s.closed {
		s.closed = true
		s.gs.Stop()
	}
}

// Drop ends every subscription in progress with an Unavailable status, as a
// server does when it drops a subscription.
func (s *Server) Drop() {
	s.mu.Lock()
	close(s.drop)
	s.drop = make(chan struct{})
	s.mu.Unlock()
}

// DropAfter makes the server drop every subscription started from now on
// once it has sent n events (n <= 0: never), in catch-up or live, so that
// a client has to resume over and over.
func (s *Server) DropAfter(n int) {
	s.mu.Lock()
	s.cut = n
	s.mu.Unlock()
}

// Subscriptions reports how many subscriptions have been started.
func (s *Server) Subscriptions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subs
}

// Len reports how many events $all holds, system events included.
func (s *Server) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.log)
}

// Tamper lets mutate change the data and custom metadata of the event at
// revision of stream, behind the client's back. It reports whether the event
// exists.
func (s *Server) Tamper(stream string, revision uint64, mutate func(data, customMetadata []byte) (newData, newCustomMetadata []byte)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.streams[stream]
	if st == nil || revision >= uint64(len(st.recs)) {
		return false
	}
	old := st.recs[revision]
	cp := *old
	cp.data, cp.custom = mutate(append([]byte(nil), old.data...), append([]byte(nil), old.custom...))
	st.recs[revision] = &cp
	for i := range s.log {
		if s.log[i] == old {
			s.log[i] = &cp
			break
		}
	}
	return true
}

// AppendSystem writes a system event (any stream and type, normally
// $-prefixed) at the end of $all and returns its position.
func (s *Server) AppendSystem(stream, typ string) (commit, prepare uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stream(stream)
	recs := s.write(st, stream, []proposed{{
		id:   uuid.New(),
		meta: map[string]string{"type": typ, "content-type": "application/json"},
		data: []byte("{}"),
	}})
	return recs[0].commit, recs[0].prepare
}

func (s *Server) stream(name string) *streamState {
	st := s.streams[name]
	if st == nil {
		st = &streamState{ids: make(map[uuid.UUID]uint64)}
		s.streams[name] = st
	}
	return st
}

type proposed struct {
	id     uuid.UUID
	meta   map[string]string
	custom []byte
	data   []byte
}

// write stores events at the end of the stream and of $all, each at the
// byte offset of its record (commit and prepare positions alike, as
// implicitly committed prepares are). s.mu is held.
func (s *Server) write(st *streamState, stream string, evs []proposed) []*record {
	created := strconv.FormatInt(s.now().UnixNano()/100, 10)
	out := make([]*record, len(evs))
	for i, e := range evs {
		rev := uint64(len(st.recs))
		r := &record{
			id:       e.id,
			stream:   stream,
			revision: rev,
			commit:   s.next,
			prepare:  s.next,
			meta: map[string]string{
				"type":         e.meta["type"],
				"content-type": e.meta["content-type"],
				"created":      created,
			},
			custom: e.custom,
			data:   e.data,
		}
		// A record takes its header plus its content, rounded up: offsets
		// have gaps and never equal an event count.
		size := 96 + len(stream) + len(e.meta["type"]) + len(e.data) + len(e.custom)
		s.next += uint64((size + 7) &^ 7)
		st.recs = append(st.recs, r)
		st.ids[e.id] = rev
		s.log = append(s.log, r)
		out[i] = r
	}
	s.next += 64 // the end of the transaction
	close(s.changed)
	s.changed = make(chan struct{})
	return out
}

type featuresService struct {
	serverfeatures.UnimplementedServerFeaturesServer
}

func (*featuresService) GetSupportedMethods(context.Context, *shared.Empty) (*serverfeatures.SupportedMethods, error) {
	const svc = "event_store.client.streams.streams"
	return &serverfeatures.SupportedMethods{
		EventStoreServerVersion: "24.10.0",
		Methods: []*serverfeatures.SupportedMethod{
			{MethodName: "read", ServiceName: svc},
			{MethodName: "append", ServiceName: svc},
		},
	}, nil
}

type streamsService struct {
	streams.UnimplementedStreamsServer
	s *Server
}

// expectation is the decoded expected_stream_revision of an append.
type expectation struct {
	kind int // 0 any, 1 no_stream, 2 stream_exists, 3 revision
	rev  uint64
}

const (
	expAny = iota
	expNoStream
	expStreamExists
	expRevision
)

func (v *streamsService) Append(srv streams.Streams_AppendServer) error {
	first, err := srv.Recv()
	if err != nil {
		return err
	}
	opts := first.GetOptions()
	if opts == nil || opts.GetStreamIdentifier() == nil {
		return status.Error(codes.InvalidArgument, "append: options expected first")
	}
	stream := string(opts.GetStreamIdentifier().GetStreamName())
	var exp expectation
	switch o := opts.GetExpectedStreamRevision().(type) {
	case *streams.AppendReq_Options_Revision:
		exp = expectation{expRevision, o.Revision}
	case *streams.AppendReq_Options_NoStream:
		exp.kind = expNoStream
	case *streams.AppendReq_Options_StreamExists:
		exp.kind = expStreamExists
	case *streams.AppendReq_Options_Any:
		exp.kind = expAny
	default:
		return status.Error(codes.InvalidArgument, "append: expected revision missing")
	}
	var evs []proposed
	size := 0
	for {
		req, err := srv.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		pm := req.GetProposedMessage()
		if pm == nil {
			return status.Error(codes.InvalidArgument, "append: proposed message expected")
		}
		id, err := parseUUID(pm.GetId())
		if err != nil {
			return status.Error(codes.InvalidArgument, "append: "+err.Error())
		}
		md := pm.GetMetadata()
		if md["type"] == "" || md["content-type"] == "" {
			return status.Error(codes.InvalidArgument, "append: metadata type and content-type are required")
		}
		size += len(pm.GetData()) + len(pm.GetCustomMetadata())
		if size > MaxAppendSize {
			return status.Errorf(codes.InvalidArgument, "Maximum Append Size of %d Exceeded.", MaxAppendSize)
		}
		evs = append(evs, proposed{id: id, meta: md, custom: pm.GetCustomMetadata(), data: pm.GetData()})
	}
	return srv.SendAndClose(v.s.append(stream, exp, evs))
}

// append applies EventStoreDB's rules: idempotence first, then the
// expected-revision check, then the write.
func (s *Server) append(stream string, exp expectation, evs []proposed) *streams.AppendResp {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.streams[stream]
	var recs []*record
	if st != nil {
		recs = st.recs
	}
	cur := int64(len(recs)) - 1
	k := len(evs)

	// matches reports whether the batch's IDs are the events at start...
	matches := func(start int64) (all, firstOnly bool) {
		if k == 0 || start < 0 || start >= int64(len(recs)) || recs[start].id != evs[0].id {
			return false, false
		}
		for i := range evs {
			j := start + int64(i)
			if j >= int64(len(recs)) || recs[j].id != evs[i].id {
				return false, true
			}
		}
		return true, true
	}
	idempotent := func(last int64) *streams.AppendResp {
		return &streams.AppendResp{Result: &streams.AppendResp_Success_{Success: &streams.AppendResp_Success{
			CurrentRevisionOption: &streams.AppendResp_Success_CurrentRevision{CurrentRevision: uint64(last)},
			PositionOption:        &streams.AppendResp_Success_NoPosition{NoPosition: &shared.Empty{}},
		}}}
	}

	switch exp.kind {
	case expRevision, expNoStream:
		want := int64(-1)
		if exp.kind == expRevision {
			want = int64(exp.rev)
		}
		if all, first := matches(want + 1); all {
			return idempotent(want + int64(k))
		} else if first || cur != want {
			return wrongExpectedVersion(exp, cur)
		}
	case expAny, expStreamExists:
		if exp.kind == expStreamExists && cur < 0 {
			return wrongExpectedVersion(exp, cur)
		}
		if k > 0 && st != nil {
			if at, ok := st.ids[evs[0].id]; ok {
				if all, _ := matches(int64(at)); all {
					return idempotent(int64(at) + int64(k) - 1)
				}
				return wrongExpectedVersion(exp, cur)
			}
		}
	}
	if k == 0 {
		ok := &streams.AppendResp_Success{PositionOption: &streams.AppendResp_Success_NoPosition{NoPosition: &shared.Empty{}}}
		if cur < 0 {
			ok.CurrentRevisionOption = &streams.AppendResp_Success_NoStream{NoStream: &shared.Empty{}}
		} else {
			ok.CurrentRevisionOption = &streams.AppendResp_Success_CurrentRevision{CurrentRevision: uint64(cur)}
		}
		return &streams.AppendResp{Result: &streams.AppendResp_Success_{Success: ok}}
	}
	written := s.write(s.stream(stream), stream, evs)
	first, last := written[0], written[len(written)-1]
	return &streams.AppendResp{Result: &streams.AppendResp_Success_{Success: &streams.AppendResp_Success{
		CurrentRevisionOption: &streams.AppendResp_Success_CurrentRevision{CurrentRevision: last.revision},
		PositionOption: &streams.AppendResp_Success_Position{Position: &streams.AppendResp_Position{
			CommitPosition: last.commit, PreparePosition: first.prepare,
		}},
	}}}
}

func wrongExpectedVersion(exp expectation, cur int64) *streams.AppendResp {
	w := &streams.AppendResp_WrongExpectedVersion{}
	if cur < 0 {
		w.CurrentRevisionOption = &streams.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
		w.CurrentRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_NoStream_20_6_0{NoStream_20_6_0: &shared.Empty{}}
	} else {
		w.CurrentRevisionOption = &streams.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: uint64(cur)}
		w.CurrentRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_CurrentRevision_20_6_0{CurrentRevision_20_6_0: uint64(cur)}
	}
	switch exp.kind {
	case expAny:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedAny{ExpectedAny: &shared.Empty{}}
		w.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_Any_20_6_0{Any_20_6_0: &shared.Empty{}}
	case expNoStream:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}
	case expStreamExists:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}
		w.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_StreamExists_20_6_0{StreamExists_20_6_0: &shared.Empty{}}
	default:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: exp.rev}
		w.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_ExpectedRevision_20_6_0{ExpectedRevision_20_6_0: exp.rev}
	}
	return &streams.AppendResp{Result: &streams.AppendResp_WrongExpectedVersion_{WrongExpectedVersion: w}}
}

func parseUUID(u *shared.UUID) (uuid.UUID, error) {
	if st := u.GetStructured(); st != nil {
		var b [16]byte
		binary.BigEndian.PutUint64(b[:8], uint64(st.GetMostSignificantBits()))
		binary.BigEndian.PutUint64(b[8:], uint64(st.GetLeastSignificantBits()))
		return uuid.UUID(b), nil
	}
	if str := u.GetString_(); str != "" {
		return uuid.Parse(str)
	}
	return uuid.Nil, fmt.Errorf("event id missing")
}

// readOptions is what a Read request asks for, decoded.
type readOptions struct {
	all        bool
	stream     string
	backward   bool
	structured bool
	// start of a stream read: revision, or start / end
	rev                uint64
	fromStart, fromEnd bool
	// start of an $all read
	commit, prepare uint64
	filter          *filter
}

func (v *streamsService) Read(req *streams.ReadReq, srv streams.Streams_ReadServer) error {
	o := req.GetOptions()
	if o == nil {
		return status.Error(codes.InvalidArgument, "read: options missing")
	}
	ro := readOptions{
		backward:   o.GetReadDirection() == streams.ReadReq_Options_Backwards,
		structured: o.GetUuidOption().GetString_() == nil,
	}
	switch so := o.GetStreamOption().(type) {
	case *streams.ReadReq_Options_Stream:
		ro.stream = string(so.Stream.GetStreamIdentifier().GetStreamName())
		switch r := so.Stream.GetRevisionOption().(type) {
		case *streams.ReadReq_Options_StreamOptions_Revision:
			ro.rev = r.Revision
		case *streams.ReadReq_Options_StreamOptions_End:
			ro.fromEnd = true
		default:
			ro.fromStart = true
		}
	case *streams.ReadReq_Options_All:
		ro.all = true
		switch a := so.All.GetAllOption().(type) {
		case *streams.ReadReq_Options_AllOptions_Position:
			ro.commit, ro.prepare = a.Position.GetCommitPosition(), a.Position.GetPreparePosition()
		case *streams.ReadReq_Options_AllOptions_End:
			ro.fromEnd = true
		default:
			ro.fromStart = true
		}
	default:
		return status.Error(codes.InvalidArgument, "read: stream option missing")
	}
	if f := o.GetFilter(); f != nil {
		flt, err := newFilter(f)
		if err != nil {
			return status.Error(codes.InvalidArgument, "read: "+err.Error())
		}
		ro.filter = flt
	}
	if _, ok := o.GetCountOption().(*streams.ReadReq_Options_Subscription); ok {
		return v.s.subscribe(srv, ro)
	}
	return v.s.read(srv, ro, o.GetCount())
}

// read serves a plain read: up to count events, then the call ends.
func (s *Server) read(srv streams.Streams_ReadServer, ro readOptions, count uint64) error {
	var out []*record
	s.mu.Lock()
	if ro.all {
		log := s.log
		if !ro.backward {
			i := 0
			switch {
			case ro.fromEnd:
				i = len(log)
			case !ro.fromStart:
				// A read from a position includes it.
				for i < len(log) && log[i].less(ro.commit, ro.prepare) {
					i++
				}
			}
			for ; i < len(log) && uint64(len(out)) < count; i++ {
				if ro.filter.match(log[i]) {
					out = append(out, log[i])
				}
			}
		} else {
			i := len(log) - 1
			switch {
			case ro.fromStart:
				i = -1
			case !ro.fromEnd:
				// Backwards from a position: the events before it.
				for i >= 0 && !log[i].less(ro.commit, ro.prepare) {
					i--
				}
			}
			for ; i >= 0 && uint64(len(out)) < count; i-- {
				if ro.filter.match(log[i]) {
					out = append(out, log[i])
				}
			}
		}
	} else {
		st := s.streams[ro.stream]
		if st == nil || len(st.recs) == 0 {
			s.mu.Unlock()
			return srv.Send(&streams.ReadResp{Content: &streams.ReadResp_StreamNotFound_{StreamNotFound: &streams.ReadResp_StreamNotFound{
				StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(ro.stream)},
			}}})
		}
		recs := st.recs
		last := uint64(len(recs) - 1)
		if !ro.backward {
			r := ro.rev
			switch {
			case ro.fromStart:
				r = 0
			case ro.fromEnd:
				r = last + 1
			}
			for ; r <= last && uint64(len(out)) < count; r++ {
				out = append(out, recs[r])
			}
		} else {
			r := int64(ro.rev)
			switch {
			case ro.fromEnd || ro.rev > last:
				r = int64(last)
			case ro.fromStart:
				r = 0
			}
			for ; r >= 0 && uint64(len(out)) < count; r-- {
				out = append(out, recs[r])
			}
		}
	}
	s.mu.Unlock()
	for _, r := range out {
		if err := srv.Send(eventResp(r, ro.structured)); err != nil {
			return err
		}
	}
	return nil
}

// subscribe serves a catch-up subscription: confirmation, the stored events
// after the start, caught_up, then live events until the client goes away or
// Drop is called.
func (s *Server) subscribe(srv streams.Streams_ReadServer, ro readOptions) error {
	ctx := srv.Context()
	s.mu.Lock()
	s.subs++
	n := s.subs
	drop := s.drop
	cut := s.cut
	// cursor: index of the next record to consider, in $all or the stream.
	cursor := 0
	if ro.all {
		switch {
		case ro.fromEnd:
			cursor = len(s.log)
		case !ro.fromStart:
			// A subscription from a position starts after it.
			for cursor < len(s.log) && !ro.afterAll(s.log[cursor]) {
				cursor++
			}
		}
	} else {
		var size int
		if st := s.streams[ro.stream]; st != nil {
			size = len(st.recs)
		}
		switch {
		case ro.fromEnd:
			cursor = size
		case !ro.fromStart:
			cursor = int(ro.rev) + 1
		}
	}
	s.mu.Unlock()

	if err := srv.Send(&streams.ReadResp{Content: &streams.ReadResp_Confirmation{Confirmation: &streams.ReadResp_SubscriptionConfirmation{
		SubscriptionId: fmt.Sprintf("esdbtest-%d", n),
	}}}); err != nil {
		return err
	}
	dropped := func() error { return status.Error(codes.Unavailable, "subscription dropped by the server") }
	caughtUp := false
	sent := 0
	scanned := 0
	var lastScanned *record
	for {
		s.mu.Lock()
		var batch []*record
		if ro.all {
			batch = s.log[min(cursor, len(s.log)):]
		} else if st := s.streams[ro.stream]; st != nil {
			batch = st.recs[min(cursor, len(st.recs)):]
		}
		batch = batch[:min(len(batch), 256):min(len(batch), 256)]
		changed := s.changed
		s.mu.Unlock()

		for _, r := range batch {
			select {
			case <-drop:
				return dropped()
			default:
			}
			cursor++
			lastScanned = r
			if ro.filter.match(r) {
				if cut > 0 && sent == cut {
					return dropped()
				}
				if err := srv.Send(eventResp(r, ro.structured)); err != nil {
					return err
				}
				sent++
				continue
			}
			scanned++
			if ro.filter != nil && scanned >= ro.filter.interval {
				scanned = 0
				if err := srv.Send(checkpointResp(r)); err != nil {
					return err
				}
			}
		}
		if len(batch) > 0 {
			continue
		}
		if !caughtUp {
			caughtUp = true
			if ro.filter != nil && lastScanned != nil {
				if err := srv.Send(checkpointResp(lastScanned)); err != nil {
					return err
				}
			}
			if err := srv.Send(&streams.ReadResp{Content: &streams.ReadResp_CaughtUp_{CaughtUp: &streams.ReadResp_CaughtUp{}}}); err != nil {
				return err
			}
		}
		select {
		case <-changed:
		case <-drop:
			return dropped()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (ro readOptions) afterAll(r *record) bool {
	return !r.less(ro.commit, ro.prepare) && !(r.commit == ro.commit && r.prepare == ro.prepare)
}

func checkpointResp(r *record) *streams.ReadResp {
	return &streams.ReadResp{Content: &streams.ReadResp_Checkpoint_{Checkpoint: &streams.ReadResp_Checkpoint{
		CommitPosition: r.commit, PreparePosition: r.prepare,
	}}}
}

func eventResp(r *record, structured bool) *streams.ReadResp {
	var id *shared.UUID
	if structured {
		id = &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{
			MostSignificantBits:  int64(binary.BigEndian.Uint64(r.id[:8])),
			LeastSignificantBits: int64(binary.BigEndian.Uint64(r.id[8:])),
		}}}
	} else {
		id = &shared.UUID{Value: &shared.UUID_String_{String_: r.id.String()}}
	}
	meta := make(map[string]string, len(r.meta))
	for k, v := range r.meta {
		meta[k] = v
	}
	return &streams.ReadResp{Content: &streams.ReadResp_Event{Event: &streams.ReadResp_ReadEvent{
		Event: &streams.ReadResp_ReadEvent_RecordedEvent{
			Id:               id,
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(r.stream)},
			StreamRevision:   r.revision,
			CommitPosition:   r.commit,
			PreparePosition:  r.prepare,
			Metadata:         meta,
			CustomMetadata:   r.custom,
			Data:             r.data,
		},
		Position: &streams.ReadResp_ReadEvent_CommitPosition{CommitPosition: r.commit},
	}}}
}

// filter is a server-side subscription filter on the stream name or the
// event type, by prefixes or by a regular expression.
type filter struct {
	onType   bool
	prefixes []string
	re       *regexp.Regexp
	interval int // events scanned between checkpoints
}

func newFilter(f *streams.ReadReq_Options_FilterOptions) (*filter, error) {
	flt := &filter{}
	var expr *streams.ReadReq_Options_FilterOptions_Expression
	switch x := f.GetFilter().(type) {
	case *streams.ReadReq_Options_FilterOptions_EventType:
		flt.onType, expr = true, x.EventType
	case *streams.ReadReq_Options_FilterOptions_StreamIdentifier:
		expr = x.StreamIdentifier
	default:
		return nil, fmt.Errorf("filter without expression")
	}
	flt.prefixes = expr.GetPrefix()
	if rx := expr.GetRegex(); rx != "" {
		re, err := regexp.Compile(rx)
		if err != nil {
			return nil, err
		}
		flt.re = re
	}
	if len(flt.prefixes) == 0 && flt.re == nil {
		return nil, fmt.Errorf("filter needs prefixes or a regex")
	}
	window := 32
	if m := f.GetMax(); m > 0 {
		window = int(m)
	}
	flt.interval = window * max(1, int(f.GetCheckpointIntervalMultiplier()))
	return flt, nil
}

func (f *filter) match(r *record) bool {
	if f == nil {
		return true
	}
	s := r.stream
	if f.onType {
		s = r.typ()
	}
	if f.re != nil {
		return f.re.MatchString(s)
	}
	for _, p := range f.prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
