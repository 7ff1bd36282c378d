package connectors

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/lizhou/fangxin/events"
)

// Checkpoint is the state a connector keeps between runs: its source's token for the last
// record that is done (acknowledged by the sink or dead-lettered).
type Checkpoint struct {
	Connector string    `json:"connector"`
	Token     string    `json:"token"`
	Records   int64     `json:"records"` // records done in total, for people
	UpdatedAt time.Time `json:"updated_at"`
}

// CheckpointFile stores a Checkpoint in one small JSON file. Save is atomic and durable: it
// writes a temporary file, fsyncs it, renames it over the old one and fsyncs the folder, so after
// a crash the file holds either the old or the new checkpoint, never a torn one.
type CheckpointFile struct{ Path string }

// Load returns the stored checkpoint, or the zero Checkpoint when there is none yet.
func (c CheckpointFile) Load() (Checkpoint, error) {
	var cp Checkpoint
	b, err := os.ReadFile(c.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return cp, nil
	}
	if err != nil {
		return cp, err
	}
	if err := json.Unmarshal(b, &cp); err != nil {
		return cp, fmt.Errorf("检查点文件 %s 已损坏 (checkpoint file is corrupt): %w", c.Path, err)
	}
	return cp, nil
}

// Save stores cp durably.
func (c CheckpointFile) Save(cp Checkpoint) error {
	dir := filepath.Dir(c.Path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(cp, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(c.Path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), c.Path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// DeadLetter is one line of the dead-letter file: a record that did not become an accepted
// event, where it was and why.
type DeadLetter struct {
	Time      time.Time      `json:"time"`
	Connector string         `json:"connector"`
	Position  Position       `json:"position"`
	Record    map[string]any `json:"record"`
	// Stage is where it failed: mapping (a column could not be read), validation (the event
	// breaks the catalogue's rules) or sink (the hub refused it).
	Stage string        `json:"stage"`
	Event *events.Event `json:"event,omitempty"`
	Reason
}

// Dead-letter stages.
const (
	StageMapping    = "mapping"
	StageValidation = "validation"
	StageSink       = "sink"
)

// DeadLetterFile appends dead letters to a JSON-lines file. Sync makes the appended lines
// durable; the runner calls it before it saves a checkpoint that covers them. A crash between
// the two can repeat a line on the next run, never lose one. Safe for concurrent use.
type DeadLetterFile struct {
	mu   sync.Mutex
	path string
	f    *os.File
	n    int64
}

// OpenDeadLetterFile opens path for appending, creating it and its folder when missing.
func OpenDeadLetterFile(path string) (*DeadLetterFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &DeadLetterFile{path: path, f: f}, nil
}

// Write appends one dead letter.
func (d *DeadLetterFile) Write(dl DeadLetter) error {
	b, err := json.Marshal(dl)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.n++
	_, err = d.f.Write(append(b, '\n'))
	return err
}

// Sync flushes the file to disk.
func (d *DeadLetterFile) Sync() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.f.Sync()
}

// Count is the number of lines written since Open.
func (d *DeadLetterFile) Count() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n
}

// Close syncs and closes the file.
func (d *DeadLetterFile) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	err := d.f.Sync()
	return errors.Join(err, d.f.Close())
}
