package commands

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"

	gojson "github.com/goccy/go-json"

	"redengine/errs"
	"redengine/eventstore"
)

// Upcaster turns the JSON of an event at one schema version into the JSON of
// the next version (From+1). It sees the event's metadata, so a new field can
// be defaulted from, say, the time the event occurred. It must be pure.
type Upcaster func(data json.RawMessage, meta eventstore.Metadata) (json.RawMessage, error)

// TypeDef declares one event type of a codec: its name in the log, the Go
// type it decodes to, its current schema version and the upcasters that bring
// older versions up to date. Build it with Type.
type TypeDef struct {
	name      string
	version   int
	typ       reflect.Type
	upcasters map[int]Upcaster
}

// Type declares that events named name are the Go type E (a struct, not a
// pointer) at schema version version (1 or more).
func Type[E any](name string, version int) *TypeDef {
	return &TypeDef{name: name, version: version, typ: reflect.TypeFor[E](), upcasters: map[int]Upcaster{}}
}

// Upcast registers fn to turn version from into version from+1 and returns d
// for chaining. A stored event at version v is read by applying the upcasters
// for v, v+1, …, current-1 in turn.
func (d *TypeDef) Upcast(from int, fn Upcaster) *TypeDef {
	if _, dup := d.upcasters[from]; dup {
		panic(fmt.Sprintf("commands: event %q: two upcasters from version %d", d.name, from))
	}
	d.upcasters[from] = fn
	return d
}

// Codec maps event type names to Go types and back, for the events of one
// aggregate (or any other fixed set). Codecs are plain values built by
// NewCodec: there is no global registry. A Codec is safe for concurrent use.
type Codec struct {
	byName map[string]*TypeDef
	byType map[reflect.Type]*TypeDef
}

// NewCodec builds a codec from its type definitions. It panics on a
// programming error in the definitions (an empty or repeated name, a Go type
// declared twice, a pointer type, a version below 1, an upcaster from a
// version that is not older than the current one), so a bad codec fails the
// first test that builds it.
func NewCodec(defs ...*TypeDef) *Codec {
	c := &Codec{byName: map[string]*TypeDef{}, byType: map[reflect.Type]*TypeDef{}}
	for _, d := range defs {
		switch {
		case d.name == "" || len(d.name) > eventstore.MaxTypeLen || d.name[0] == '$':
			panic(fmt.Sprintf("commands: invalid event type name %q", d.name))
		case d.version < 1:
			panic(fmt.Sprintf("commands: event %q: version %d < 1", d.name, d.version))
		case d.typ.Kind() == reflect.Pointer:
			panic(fmt.Sprintf("commands: event %q: declare the struct type, not a pointer", d.name))
		}
		if _, dup := c.byName[d.name]; dup {
			panic(fmt.Sprintf("commands: event %q declared twice", d.name))
		}
		if other, dup := c.byType[d.typ]; dup {
			panic(fmt.Sprintf("commands: Go type %s declared as %q and %q", d.typ, other.name, d.name))
		}
		for from := range d.upcasters {
			if from < 1 || from >= d.version {
				panic(fmt.Sprintf("commands: event %q: upcaster from version %d but current is %d", d.name, from, d.version))
			}
		}
		c.byName[d.name] = d
		c.byType[d.typ] = d
	}
	return c
}

// Encode returns the type name, current schema version and JSON of a domain
// event (a value or pointer of a declared type). An undeclared type is an
// errs.Internal error: it is a bug in the caller.
func (c *Codec) Encode(event any) (name string, version int, data json.RawMessage, err error) {
	const op = errs.Op("commands.Encode")
	t := reflect.TypeOf(event)
	if t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	d, ok := c.byType[t]
	if !ok {
		return "", 0, nil, errs.E(op, errs.Internal, fmt.Sprintf("tipo de evento no declarado en el códec: %v", t))
	}
	data, err = gojson.Marshal(event)
	if err != nil {
		return "", 0, nil, errs.E(op, errs.Internal, err)
	}
	return d.name, d.version, data, nil
}

// Decode turns a recorded event into its Go value (of the declared struct
// type, not a pointer) at the current schema version, running the upcasters
// from the stored version. An unknown type, a version newer than the codec's,
// a missing upcaster or bad JSON is an errs.Internal error.
func (c *Codec) Decode(e eventstore.Event) (any, error) {
	const op = errs.Op("commands.Decode")
	d, ok := c.byName[e.Type]
	if !ok {
		return nil, errs.E(op, errs.Internal, fmt.Sprintf("tipo de evento desconocido %q en %s@%d", e.Type, e.Stream, e.Revision))
	}
	data, err := c.upcast(d, e)
	if err != nil {
		return nil, err
	}
	v := reflect.New(d.typ)
	if err := gojson.Unmarshal(data, v.Interface()); err != nil {
		return nil, errs.E(op, errs.Internal, fmt.Sprintf("evento %q en %s@%d", e.Type, e.Stream, e.Revision), err)
	}
	return v.Elem().Interface(), nil
}

// Upcast returns the JSON of a recorded event brought to the current schema
// version, without decoding it into a Go value.
func (c *Codec) Upcast(e eventstore.Event) (json.RawMessage, error) {
	d, ok := c.byName[e.Type]
	if !ok {
		return nil, errs.E(errs.Op("commands.Upcast"), errs.Internal, fmt.Sprintf("tipo de evento desconocido %q", e.Type))
	}
	return c.upcast(d, e)
}

func (c *Codec) upcast(d *TypeDef, e eventstore.Event) (json.RawMessage, error) {
	const op = errs.Op("commands.Upcast")
	v := e.SchemaVersion
	if v < 1 {
		v = 1
	}
	if v > d.version {
		return nil, errs.E(op, errs.Internal, fmt.Sprintf("evento %q en %s@%d tiene versión %d y el código conoce hasta la %d", e.Type, e.Stream, e.Revision, v, d.version))
	}
	data := e.Data
	for ; v < d.version; v++ {
		up, ok := d.upcasters[v]
		if !ok {
			return nil, errs.E(op, errs.Internal, fmt.Sprintf("evento %q: falta el upcaster de la versión %d", e.Type, v))
		}
		var err error
		if data, err = up(data, e.Metadata); err != nil {
			return nil, errs.E(op, errs.Internal, fmt.Sprintf("evento %q en %s@%d: upcaster %d→%d", e.Type, e.Stream, e.Revision, v, v+1), err)
		}
	}
	return data, nil
}

// Knows reports whether the codec declares the event type name.
func (c *Codec) Knows(name string) bool { _, ok := c.byName[name]; return ok }

// Version returns the current schema version of the event type name (0 if
// unknown).
func (c *Codec) Version(name string) int {
	if d, ok := c.byName[name]; ok {
		return d.version
	}
	return 0
}

// Names returns the declared event type names, sorted.
func (c *Codec) Names() []string {
	out := make([]string, 0, len(c.byName))
	for n := range c.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
