package connectors

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lizhou/fangxin/events"
)

// Record is one record a Source read: a spreadsheet row, a CSV line, a table row, a pushed JSON
// object. The runner owns a Record once Read returned it; the source must not change it later.
type Record struct {
	// Position says where the record sits, for dead letters and error messages.
	Position Position
	// Values maps a column name (as the bureau's system spells it, Chinese or not) to its value:
	// a string (files), or int64, float64, bool, time.Time, nil (databases, JSON). Mappings turn
	// every value into text first (see Text), so a source may hand out whatever is natural.
	Values map[string]any
	// Checkpoint is the source's token for "everything up to and including this record is done".
	// The runner stores it once the sink acknowledged the record (or it went to the dead-letter
	// file) and hands it back to Open after a restart. Opaque to everything but the source.
	Checkpoint string
}

// Position locates a record in its source: file and row, or table and key.
type Position struct {
	File  string `json:"file,omitempty"`
	Sheet string `json:"sheet,omitempty"`
	// Row is the 1-based row as a spreadsheet program shows it (the header is row 1 by default).
	Row   int    `json:"row,omitempty"`
	Table string `json:"table,omitempty"`
	// Key is the record's key in its table, or any other stable key a source has (a pushed
	// record's id).
	Key string `json:"key,omitempty"`
}

// String renders the position for people: "登记.xlsx 第12行", "table orders key 42".
func (p Position) String() string {
	var parts []string
	if p.File != "" {
		f := p.File
		if p.Sheet != "" {
			f += "[" + p.Sheet + "]"
		}
		parts = append(parts, f)
	}
	if p.Row > 0 {
		parts = append(parts, "第"+strconv.Itoa(p.Row)+"行")
	}
	if p.Table != "" {
		parts = append(parts, "表 "+p.Table)
	}
	if p.Key != "" {
		parts = append(parts, "键 "+p.Key)
	}
	return strings.Join(parts, " ")
}

// Source yields the records of one bureau system, in a stable order.
//
// Contract:
//   - Read returns the next record, or io.EOF when there is none at the moment (a file is read to
//     its end; a table has no row past the watermark). A Source that can have more later (a
//     table, an endpoint) implements Poller, and the runner calls Read again after the poll
//     interval; a Source without Poller is finished at io.EOF.
//   - Records come in checkpoint order: the checkpoint of a record covers every record read
//     before it. Open with a record's checkpoint resumes right after that record.
//   - Reading the same record again yields the same Values, so the mapping derives the same
//     event id: a restart before the checkpoint was saved re-sends events the hub already has,
//     which is a no-op there.
//   - Read and Close are called from one goroutine; a Source need not be safe for concurrent use.
//   - Any error other than io.EOF stops the run; the checkpoint keeps the last acknowledged
//     record, so nothing is lost.
type Source interface {
	Read(ctx context.Context) (Record, error)
	Close() error
}

// Poller is implemented by sources that get new records over time (tables, push endpoints).
type Poller interface {
	// PollInterval is how long the runner waits after io.EOF before reading again.
	PollInterval() time.Duration
}

// Progresser is implemented by sources that know how far along they are, in records (or in
// bytes, when the source also has a ProgressInBytes() method); the runner shows a progress bar
// from it on a terminal. total < 0 means unknown.
type Progresser interface {
	Progress() (done, total int64)
}

// SourceConfig is the typed configuration of a source kind: a pointer to a struct whose fields
// carry yaml, desc, default, required and secret tags (see SpecOf). The runner decodes the
// connector file's `source:` block into it, applies the defaults, expands secrets and calls
// Validate before Open.
type SourceConfig interface {
	// Validate reports every problem of the configuration at once (errors.Join).
	Validate() error
	// Open starts reading right after checkpoint ("" = from the beginning).
	Open(ctx context.Context, env Env, checkpoint string) (Source, error)
}

// Sink delivers events to the hub.
//
// Contract:
//   - Send delivers a batch and returns exactly one Result per event, in order. It returns only
//     once every accepted event is durable in the hub's log (the gateway's 202, the broker's
//     acks=all).
//   - A Result with Rejected set is a permanent refusal of that one event (it breaks a rule the
//     hub enforces); the runner writes it to the dead-letter file and goes on.
//   - An error means the batch could not be delivered after the sink's own retries (network,
//     503): nothing may be assumed delivered, the runner stops and keeps its checkpoint before
//     the batch. A later run sends the batch again.
//   - Send is idempotent on (source, id): sending an event again is a no-op in the hub's views.
//   - Send and Close are called from one goroutine.
type Sink interface {
	Send(ctx context.Context, evs []events.Event) ([]Result, error)
	Close() error
}

// SinkConfig is the typed configuration of a sink kind, like SourceConfig.
type SinkConfig interface {
	Validate() error
	Open(ctx context.Context, env Env) (Sink, error)
}

// Result is the sink's answer for one event: nil Rejected means accepted.
type Result struct {
	Rejected *Reason
}

// Reason says why a record failed, in Chinese for the official who reads the dead-letter file
// and in English for the engineer.
type Reason struct {
	ZH string `json:"reason"`
	EN string `json:"reason_en"`
	// Problems are the event's validation problems, when that is why it failed.
	Problems []events.Problem `json:"problems,omitempty"`
}

func (r Reason) Error() string { return r.ZH + " (" + r.EN + ")" }

// Env is what a source or sink may use from its surroundings.
type Env struct {
	// Dir is the folder of the connector file: relative paths in a config are relative to it.
	Dir string
	// Name is the connector's name (config `name`), Bureau its bureau code.
	Name, Bureau string
	Logger       *slog.Logger
	// Registerer receives the kind's own metrics, if it has any. Never nil.
	Registerer prometheus.Registerer
}

// Path resolves p against Dir unless it is absolute.
func (e Env) Path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(e.Dir, p)
}

// SourceKind registers a source kind: a name used as `source: {kind: NAME}` and a constructor
// for its typed config.
type SourceKind struct {
	Name    string
	Summary string // one English line for the docs
	Config  func() SourceConfig
}

// SinkKind registers a sink kind, like SourceKind.
type SinkKind struct {
	Name    string
	Summary string
	Config  func() SinkConfig
}

// Registry holds the connector kinds a binary knows. It is a plain value built by the caller
// (see connectors/kinds.All), not global state. Not safe for concurrent registration.
type Registry struct {
	sources map[string]SourceKind
	sinks   map[string]SinkKind
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{sources: map[string]SourceKind{}, sinks: map[string]SinkKind{}}
}

// AddSource registers kinds; a name registered twice panics (a programming error).
func (r *Registry) AddSource(ks ...SourceKind) *Registry {
	for _, k := range ks {
		register(r.sources, "source", k.Name, k)
	}
	return r
}

// AddSink registers kinds; a name registered twice panics.
func (r *Registry) AddSink(ks ...SinkKind) *Registry {
	for _, k := range ks {
		register(r.sinks, "sink", k.Name, k)
	}
	return r
}

func register[K any](m map[string]K, what, name string, k K) {
	if _, dup := m[name]; dup {
		panic(fmt.Sprintf("connectors: %s kind %q registered twice", what, name))
	}
	m[name] = k
}

// Source returns the source kind registered under name.
func (r *Registry) Source(name string) (SourceKind, bool) { k, ok := r.sources[name]; return k, ok }

// Sink returns the sink kind registered under name.
func (r *Registry) Sink(name string) (SinkKind, bool) { k, ok := r.sinks[name]; return k, ok }

// Sources lists the source kinds by name.
func (r *Registry) Sources() []SourceKind {
	out := make([]SourceKind, 0, len(r.sources))
	for _, k := range r.sources {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b SourceKind) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Sinks lists the sink kinds by name.
func (r *Registry) Sinks() []SinkKind {
	out := make([]SinkKind, 0, len(r.sinks))
	for _, k := range r.sinks {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b SinkKind) int { return strings.Compare(a.Name, b.Name) })
	return out
}
