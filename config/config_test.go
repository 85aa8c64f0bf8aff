package config

import (
	"testing"
	"time"

	"redengine/errs"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DataDir != "./data" || c.EventStore != "" || c.FIERMaxDays != 17 ||
		c.FIERMaxRecords != 300 || c.FIERDownloadTTL != 24*time.Hour || len(c.DocumentTypes) != 1 || c.DocumentTypes[0] != "DNI" {
		t.Errorf("defaults: %+v", c)
	}
	if c.EventsPath() != "data/events.db" || c.ReadModelsPath() != "data/readmodels.db" {
		t.Errorf("paths %s %s", c.EventsPath(), c.ReadModelsPath())
	}
}

func TestLoad(t *testing.T) {
	c, err := Load(env(map[string]string{
		"REDENGINE_ADDR": "127.0.0.1:9000", "REDENGINE_EVENTSTORE": "esdb://h:2113?tls=false",
		"REDENGINE_NSS_DOCUMENT_TYPES": "dni, nie", "REDENGINE_RATE_LIMIT": "2.5", "REDENGINE_FIER_DOWNLOAD_TTL": "1h",
		"REDENGINE_CLOCK": "manual:2026-01-01T00:00:00Z", "REDENGINE_DEMO": "1",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9000" || len(c.DocumentTypes) != 2 || c.RateLimit != 2.5 || c.FIERDownloadTTL != time.Hour || !c.ManualClock() || !c.Demo {
		t.Errorf("%+v", c)
	}
}

func TestSharedSQLiteFile(t *testing.T) {
	c, err := Load(env(map[string]string{"REDENGINE_EVENTSTORE": "sqlite:///srv/red/events.db", "REDENGINE_DATA_DIR": "/srv/node-b"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.EventsPath() != "/srv/red/events.db" || c.ReadModelsPath() != "/srv/node-b/readmodels.db" {
		t.Errorf("paths %s %s", c.EventsPath(), c.ReadModelsPath())
	}
	if _, err := Load(env(map[string]string{"REDENGINE_EVENTSTORE": "sqlite://relative/events.db"})); !errs.Is(errs.Invalid, err) {
		t.Errorf("a relative sqlite path must be refused: %v", err)
	}
}

func TestLoadRefusesBadValues(t *testing.T) {
	_, err := Load(env(map[string]string{
		"REDENGINE_EVENTSTORE": "postgres://x", "REDENGINE_NSS_DOCUMENT_TYPES": "DNI,PASAPORTE",
		"REDENGINE_RATE_LIMIT": "-1", "REDENGINE_FIER_MAX_DAYS": "diez", "REDENGINE_WAIT_TIMEOUT": "0s",
	}))
	if !errs.Is(errs.Invalid, err) {
		t.Fatalf("want invalid, got %v", err)
	}
	want := map[string]bool{"REDENGINE_EVENTSTORE": true, "REDENGINE_NSS_DOCUMENT_TYPES": true, "REDENGINE_RATE_LIMIT": true,
		"REDENGINE_FIER_MAX_DAYS": true, "REDENGINE_WAIT_TIMEOUT": true}
	for _, f := range errs.FieldsOf(err) {
		delete(want, f.Field)
	}
	if len(want) > 0 {
		t.Errorf("not reported: %v (got %v)", want, errs.FieldsOf(err))
	}
}

func TestCommitLinger(t *testing.T) {
	tests := []settingCase[time.Duration]{
		{"", 250 * time.Microsecond, true},
		{"0", 0, true},
		{"0s", 0, true},
		{"2ms", 2 * time.Millisecond, true},
		{"10ms", 10 * time.Millisecond, true},
		{"11ms", 0, false},
		{"-1ms", 0, false},
		{"pronto", 0, false},
	}
	checkSetting(t, "REDENGINE_COMMIT_LINGER", func(c Config) time.Duration { return c.CommitLinger }, tests)
}

func TestProjectionNice(t *testing.T) {
	tests := []settingCase[int]{
		{"", 10, true},
		{"0", 0, true},
		{"5", 5, true},
		{"19", 19, true},
		{"20", 0, false},
		{"-1", 0, false},
		{"baja", 0, false},
	}
	checkSetting(t, "REDENGINE_PROJECTION_NICE", func(c Config) int { return c.ProjectionNice }, tests)
}

func TestProjectionGather(t *testing.T) {
	tests := []settingCase[time.Duration]{
		{"", 25 * time.Millisecond, true},
		{"0", 0, true},
		{"5ms", 5 * time.Millisecond, true},
		{"1s", time.Second, true},
		{"2s", 0, false},
		{"-1ms", 0, false},
		{"10", 0, false},
		{"pronto", 0, false},
	}
	checkSetting(t, "REDENGINE_PROJECTION_GATHER", func(c Config) time.Duration { return c.ProjectionGather }, tests)
}

func TestProjectionWriteback(t *testing.T) {
	tests := []settingCase[time.Duration]{
		{"", 5 * time.Second, true},
		{"0", 0, true},
		{"100ms", 100 * time.Millisecond, true},
		{"250ms", 250 * time.Millisecond, true},
		{"10s", 10 * time.Second, true},
		{"11s", 0, false},
		{"-1ms", 0, false},
		{"100", 0, false},
		{"a menudo", 0, false},
	}
	checkSetting(t, "REDENGINE_PROJECTION_WRITEBACK", func(c Config) time.Duration { return c.ProjectionWriteback }, tests)
}

// settingCase is one value of a setting: what Load makes of it (want), or
// that it refuses it (ok false).
type settingCase[T comparable] struct {
	in   string
	want T
	ok   bool
}

// checkSetting loads each case's value of the variable name alone and
// checks the field get reads, or that Load refuses that variable alone.
func checkSetting[T comparable](t *testing.T, name string, get func(Config) T, tests []settingCase[T]) {
	t.Helper()
	for _, tt := range tests {
		c, err := Load(env(map[string]string{name: tt.in}))
		if !tt.ok {
			if !errs.Is(errs.Invalid, err) || len(errs.FieldsOf(err)) != 1 || errs.FieldsOf(err)[0].Field != name {
				t.Errorf("%s=%q: want the field refused, got %v", name, tt.in, err)
			}
			continue
		}
		if err != nil || get(c) != tt.want {
			t.Errorf("%s=%q: %v, %v; want %v", name, tt.in, get(c), err, tt.want)
		}
	}
}
