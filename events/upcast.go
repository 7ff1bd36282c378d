package events

import (
	"errors"
	"fmt"
	"sync"
)

// Upcaster turns an event written under an older contract into the next version of it. It must
// be a pure function of its input and must change the event's version key (VersionKey): its
// output's dataschema names the version it produces.
type Upcaster func(Event) (Event, error)

// UpcasterRegistry holds the upcasters of a process. Readers of the log (projections, the history
// endpoint) call Upcast on every event they read, so code written against the current catalogue
// never sees an old shape. The zero value is an empty registry; there is no package-level one.
// Register at start-up; Upcast may then be called from any goroutine.
type UpcasterRegistry struct {
	mu sync.RWMutex
	m  map[string]Upcaster
}

// maxUpcastSteps bounds a chain of upcasters (v0 -> v1 -> v2 …); longer chains are a cycle.
const maxUpcastSteps = 16

// VersionKey is the key under which Upcast looks an event up: its dataschema when set, otherwise
// its type. Register an upcaster under a schema URI (".../complaint.received.v1.json") for
// events that carry one, and under a type name for events written without dataschema or under
// a type that no longer exists.
func VersionKey(ev Event) string {
	if ev.DataSchema != "" {
		return ev.DataSchema
	}
	return ev.Type
}

// RegisterUpcaster registers fn for events whose VersionKey is from. Registering a key twice is
// an error: two upcasters for one version would make replays ambiguous.
func (r *UpcasterRegistry) RegisterUpcaster(from string, fn Upcaster) error {
	if from == "" || fn == nil {
		return errors.New("events: RegisterUpcaster needs a version key and a function")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.m[from]; dup {
		return fmt.Errorf("events: an upcaster for %q is already registered", from)
	}
	if r.m == nil {
		r.m = map[string]Upcaster{}
	}
	r.m[from] = fn
	return nil
}

// Upcast applies registered upcasters until the event's version key has none, and returns the
// result; an event already current is returned unchanged. It fails when an upcaster fails, does
// not change the version key, or the chain exceeds 16 steps (a cycle).
func (r *UpcasterRegistry) Upcast(ev Event) (Event, error) {
	for step := 0; ; step++ {
		key := VersionKey(ev)
		r.mu.RLock()
		fn := r.m[key]
		r.mu.RUnlock()
		if fn == nil {
			return ev, nil
		}
		if step == maxUpcastSteps {
			return ev, fmt.Errorf("events: upcasting %s: more than %d steps, the upcasters form a cycle at %q", ev.Key(), maxUpcastSteps, key)
		}
		next, err := fn(ev)
		if err != nil {
			return ev, fmt.Errorf("events: upcasting %s from %q: %w", ev.Key(), key, err)
		}
		if VersionKey(next) == key {
			return ev, fmt.Errorf("events: upcaster for %q did not change the event's version (set dataschema to the version it produces)", key)
		}
		ev = next
	}
}

// WithDataSchema returns ev with dataschema set to its type's v1 schema URI when it has none, so
// the event names its own version in the log. Events of types outside the catalogue are returned
// unchanged.
func WithDataSchema(ev Event) Event {
	if ev.DataSchema == "" {
		ev.DataSchema = SchemaURI(ev.Type)
	}
	return ev
}
