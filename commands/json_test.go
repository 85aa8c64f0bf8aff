package commands_test

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	"redengine/commands"
	"redengine/domain/calendar"
	"redengine/eventstore"
)

// label is a text-marshalled value, as the identifiers of the domain are.
type label string

func (l label) MarshalText() ([]byte, error)  { return []byte("L:" + string(l)), nil }
func (l *label) UnmarshalText(b []byte) error { *l = label(b[min(2, len(b)):]); return nil }

type part struct {
	Name string    `json:"name"`
	At   time.Time `json:"at"`
}

// everything holds each kind of field the engine's events and read models
// have, so that the codec's encoder (go-json) can be held to encoding/json's
// bytes and its decoder to encoding/json's values.
type everything struct {
	Text     string            `json:"text"`
	Empty    string            `json:"empty,omitempty"`
	List     []string          `json:"list"`
	NilList  []string          `json:"nilList"`
	Map      map[string]string `json:"map"`
	Keys     map[label]int     `json:"keys,omitempty"`
	N        int               `json:"n"`
	U        uint32            `json:"u"`
	F        float64           `json:"f"`
	OK       bool              `json:"ok"`
	At       time.Time         `json:"at"`
	Later    time.Time         `json:"later,omitzero"`
	Day      calendar.Date     `json:"day"`
	Label    label             `json:"label"`
	Ptr      *part             `json:"ptr,omitempty"`
	Parts    []part            `json:"parts"`
	Actor    eventstore.Actor  `json:"actor"`
	Raw      json.RawMessage   `json:"raw,omitempty"`
	Skipped  string            `json:"-"`
	Untagged string
}

var christmasEve, _ = calendar.NewDate(2026, 12, 24)

var everythingCodec = commands.NewCodec(commands.Type[everything]("Everything", 1))

// sameAsEncodingJSON fails t unless the codec encodes v to the bytes
// encoding/json gives and decodes those bytes to the value encoding/json
// decodes.
func sameAsEncodingJSON(t *testing.T, v everything) {
	t.Helper()
	want, wantErr := json.Marshal(v)
	_, _, got, err := everythingCodec.Encode(v)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("codec error %v, encoding/json error %v", err, wantErr)
	}
	if wantErr != nil {
		return
	}
	if string(got) != string(want) {
		t.Fatalf("codec encoded\n%s\nencoding/json\n%s", got, want)
	}
	var std everything
	if err := json.Unmarshal(want, &std); err != nil {
		t.Fatal(err)
	}
	dec, err := everythingCodec.Decode(eventstore.Event{Type: "Everything", SchemaVersion: 1, Data: want})
	if err != nil {
		t.Fatalf("codec decode: %v", err)
	}
	if !reflect.DeepEqual(dec, std) {
		t.Fatalf("codec decoded\n%#v\nencoding/json\n%#v", dec, std)
	}
}

func TestCodecJSONIsEncodingJSONs(t *testing.T) {
	madrid := time.FixedZone("CET", 3600)
	for name, v := range map[string]everything{
		"zero":  {},
		"plain": {Text: "Consulta sobre cotización", List: []string{"a", "b"}, Map: map[string]string{"z": "1", "a": "2"}, N: -3, U: math.MaxUint32, F: 0.1, OK: true},
		"escapes": {Text: "<b>&amp;</b> \"comillas\" \\ \n\t\r \x00\x1f \u2028\u2029 €ñ", Map: map[string]string{"<k>": "&", "é": "\x7f"},
			Label: "<&>", Keys: map[label]int{"b": 1, "a": 2}},
		"invalid UTF-8": {Text: "a\xffb\xc3(c\xed\xa0\x80", List: []string{"\xff"}, Map: map[string]string{"\xfe": "\xff"}},
		"times": {At: time.Date(2026, 11, 29, 8, 30, 0, 123456789, madrid), Later: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
			Day: christmasEve, Ptr: &part{Name: "p", At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
			Parts: []part{{Name: "x"}, {Name: "y", At: time.Unix(0, 1).UTC()}}},
		"floats":          {F: 1e21},
		"small":           {F: 1e-7},
		"bad raw message": {Raw: json.RawMessage(`{"a":`)}, // both refuse it: Encode's data is valid JSON
		"others":          {Actor: eventstore.Actor{ID: "u", Role: "autorizado"}, Raw: json.RawMessage(`{"a": [1, 2]}`), Skipped: "no", Untagged: "sí", Empty: "e"},
	} {
		t.Run(name, func(t *testing.T) { sameAsEncodingJSON(t, v) })
	}
}

// FuzzCodecJSONIsEncodingJSONs holds the codec's encoder and decoder to
// encoding/json's over arbitrary text, numbers and times: the bytes of an
// event are hashed as written, and a read model or an answer must not change
// with the library that wrote it.
func FuzzCodecJSONIsEncodingJSONs(f *testing.F) {
	f.Add("texto", "<&>", int64(0), 0.5, int64(0), "k")
	f.Add("a\xffb", "\u2028", int64(-1), 1e21, int64(1700000000123456789), "\x00")
	f.Fuzz(func(t *testing.T, s, l string, n int64, fl float64, ns int64, key string) {
		v := everything{Text: s, List: []string{s, l}, Map: map[string]string{key: s, l: key}, Keys: map[label]int{label(key): 1},
			N: int(n), U: uint32(n), F: fl, At: time.Unix(0, ns).UTC(), Label: label(l), Parts: []part{{Name: l, At: time.Unix(0, ns).In(time.FixedZone("X", int(n%50400)))}}}
		sameAsEncodingJSON(t, v)
	})
}
