package connectors

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"go.yaml.in/yaml/v3"

	"github.com/lizhou/fangxin/events"
)

// Config is a connector file: who sends, where records come from, where events go, and how a
// record becomes an event. Load reads it from YAML.
type Config struct {
	Name       string  `yaml:"name" required:"true" desc:"The connector's name: letters, digits, '-' and '_'. It starts every derived event id and names the checkpoint and dead-letter files, so keep it once events were sent."`
	Bureau     string  `yaml:"bureau" required:"true" desc:"Code of the sending bureau in the registry (amr, quality, tourism, hotline-12345, ...); events get source /bureaus/{bureau}."`
	StateDir   string  `yaml:"state_dir" default:"state" desc:"Folder of the checkpoint file ({name}.checkpoint.json), relative to the connector file."`
	DeadLetter string  `yaml:"dead_letter" desc:"Dead-letter file (JSON lines), relative to the connector file. Default {state_dir}/{name}.deadletter.jsonl."`
	BatchSize  int     `yaml:"batch_size" default:"500" desc:"Events per send (the gateway takes at most 1000 per request)."`
	Rate       float64 `yaml:"rate" default:"0" desc:"Records read per second at most; 0 is unlimited."`

	// Source and Sink are tagged unions: `kind` picks the registered kind, the other keys are
	// that kind's config (see `fangxin connect spec`).
	Source yaml.Node `yaml:"source" required:"true" desc:"The source block: kind (csv, xlsx, ...) and that kind's fields below."`
	Sink   yaml.Node `yaml:"sink" desc:"The sink block: kind (gateway, kafka) and that kind's fields below. Needed by run, not by check."`

	// Mapping turns a record into an event; Mappings lists several, the first whose `when`
	// matches a record applies. Exactly one of the two is set.
	Mapping  *Mapping  `yaml:"mapping" desc:"How a record becomes an event (see Mapping). Set mapping or mappings."`
	Mappings []Mapping `yaml:"mappings" desc:"Several mappings, each with a when; the first that matches a record applies."`

	// Dir is the folder of the connector file (set by Load).
	Dir string `yaml:"-"`
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// Loaded is a parsed, validated connector file with its source and sink configs decoded.
type Loaded struct {
	Config
	SourceKind string
	Source     SourceConfig
	SinkKind   string
	Sink       SinkConfig // nil when the file has no sink block or SinkErr is set
	// SinkErr holds the sink block's problems (an unset ${KEY} variable, a bad URL). Run
	// refuses to start with it; check, which sends nothing, only reports it.
	SinkErr  error
	Mappings []*Mapping // compiled
}

// DeadLetterPath is the dead-letter file, resolved against the connector file's folder.
func (l *Loaded) DeadLetterPath() string { return Env{Dir: l.Dir}.Path(l.DeadLetter) }

// CheckpointPath is the checkpoint file.
func (l *Loaded) CheckpointPath() string {
	return filepath.Join(Env{Dir: l.Dir}.Path(l.StateDir), l.Name+".checkpoint.json")
}

// Load reads and validates a connector file, decoding its source and sink blocks with the kinds
// of reg. Every problem is reported at once.
func Load(path string, reg *Registry) (*Loaded, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dir, _ := filepath.Abs(filepath.Dir(path))
	l, err := Parse(raw, dir, reg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

// Parse is Load on the bytes of a connector file; dir is the folder relative paths resolve
// against.
func Parse(raw []byte, dir string, reg *Registry) (*Loaded, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("连接器配置不是有效的 YAML (not valid connector YAML): %w", err)
	}
	c.Dir = dir
	var errs []error
	if err := Prepare(&c, ""); err != nil {
		errs = append(errs, err)
	}
	if c.Name != "" && !nameRE.MatchString(c.Name) {
		errs = append(errs, fmt.Errorf("name: %q 只能包含字母、数字、- 和 _ (letters, digits, - and _ only, at most 64)", c.Name))
	}
	if c.Bureau != "" {
		if _, ok := events.LookupBureau(c.Bureau); !ok {
			errs = append(errs, fmt.Errorf("bureau: %q 不是登记的单位代码 (not a registered bureau code)", c.Bureau))
		}
	}
	if c.BatchSize < 1 || c.BatchSize > 1000 {
		errs = append(errs, fmt.Errorf("batch_size: 应在 1 到 1000 之间 (must be 1..1000), got %d", c.BatchSize))
	}
	if c.Rate < 0 {
		errs = append(errs, fmt.Errorf("rate: 不能为负 (must not be negative)"))
	}
	if c.DeadLetter == "" {
		c.DeadLetter = filepath.Join(c.StateDir, c.Name+".deadletter.jsonl")
	}
	l := &Loaded{Config: c}

	// source
	if c.Source.Kind == 0 {
		// reported by Prepare (required)
	} else if kind, cfg, err := decodeKind(&c.Source, "source", func(k string) (any, bool) {
		sk, ok := reg.Source(k)
		if !ok {
			return nil, false
		}
		return sk.Config(), true
	}, kindNames(reg.Sources())); err != nil {
		errs = append(errs, err)
	} else {
		l.SourceKind, l.Source = kind, cfg.(SourceConfig)
	}

	// sink (optional for check)
	if c.Sink.Kind != 0 {
		if kind, cfg, err := decodeKind(&c.Sink, "sink", func(k string) (any, bool) {
			sk, ok := reg.Sink(k)
			if !ok {
				return nil, false
			}
			return sk.Config(), true
		}, kindNames(reg.Sinks())); err != nil {
			l.SinkErr = err
		} else {
			l.SinkKind, l.Sink = kind, cfg.(SinkConfig)
		}
	}

	// mappings
	ms := c.Mappings
	switch {
	case c.Mapping != nil && len(ms) > 0:
		errs = append(errs, errors.New("mapping/mappings: 只能二选一 (set mapping or mappings, not both)"))
	case c.Mapping != nil:
		ms = []Mapping{*c.Mapping}
	case len(ms) == 0:
		errs = append(errs, errors.New("mapping: 必填 (required)"))
	}
	for i := range ms {
		m := ms[i]
		where := "mapping"
		if len(ms) > 1 || c.Mapping == nil {
			where = fmt.Sprintf("mappings[%d]", i)
		}
		if err := m.compile(where, c.Name, c.Bureau); err != nil {
			errs = append(errs, err)
		}
		l.Mappings = append(l.Mappings, &m)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return l, nil
}

type kindNamer interface{ kindName() string }

func (k SourceKind) kindName() string { return k.Name }
func (k SinkKind) kindName() string   { return k.Name }

func kindNames[K kindNamer](ks []K) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k.kindName()
	}
	return out
}

// decodeKind decodes a tagged-union block {kind: NAME, ...NAME's fields} into NAME's config.
func decodeKind(n *yaml.Node, where string, lookup func(string) (any, bool), known []string) (string, any, error) {
	if n.Kind != yaml.MappingNode {
		return "", nil, fmt.Errorf("%s: 应为键值块 (must be a mapping)", where)
	}
	var kind string
	rest := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "kind" {
			kind = n.Content[i+1].Value
			continue
		}
		rest.Content = append(rest.Content, n.Content[i], n.Content[i+1])
	}
	if kind == "" {
		return "", nil, fmt.Errorf("%s.kind: 必填，可选 %v (required, one of %v)", where, known, known)
	}
	cfg, ok := lookup(kind)
	if !ok {
		return "", nil, fmt.Errorf("%s.kind: 未知类型 %q，可选 %v (unknown kind, one of %v)", where, kind, known, known)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(rest); err != nil {
		return "", nil, err
	}
	dec := yaml.NewDecoder(&buf)
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		return "", nil, fmt.Errorf("%s (%s): %w", where, kind, err)
	}
	var errs []error
	if err := Prepare(cfg, where+"."); err != nil {
		errs = append(errs, err)
	}
	if err := cfg.(interface{ Validate() error }).Validate(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", where, err))
	}
	return kind, cfg, errors.Join(errs...)
}
