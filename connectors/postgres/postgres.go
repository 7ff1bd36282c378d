// Package postgres is the source kind for a bureau's office database: it polls one table (or view)
// of a PostgreSQL database by watermark and hands out every row once, in watermark order.
//
// # Watermark
//
// The watermark is an increasing column: an id from a sequence, or an updated_at the bureau's
// system sets on every change. Rows are read in (watermark, key) order, where key is a unique
// column (the primary key) that breaks ties of the watermark; with an id watermark the key is the
// id itself. The checkpoint is the (watermark, key) of the last row done, as PostgreSQL renders
// them as text, so a restart reads exactly the rows after it:
//
//	SELECT t.*, t.wm::text, t.key::text FROM table t
//	WHERE (t.wm, t.key) > ($1::text::wm_type, $2::text::key_type)
//	ORDER BY t.wm, t.key LIMIT batch_size
//
// With an updated_at watermark a row updated later is read again. Whether that becomes a new event
// is the mapping's choice: with key: [编号] the event id is the same and the hub ignores the
// re-send; with key: [编号, 更新时间] (or no key) the new version is a new event.
//
// A caveat of every watermark poller: a transaction that commits after a later one with a
// smaller watermark (a long transaction stamping updated_at at its start) is skipped. An id from
// a sequence has the same gap for concurrent inserts. Bureaus' office systems commit one form at
// a time; where they do not, use a view that only shows rows older than a few seconds.
//
// # Values
//
// Columns keep their types for the mapping: text, integers, floats, booleans, NULL; numeric as
// its exact decimal text; date and timestamp (without time zone) as wall-clock times in
// Asia/Shanghai, timestamptz as the instant.
package postgres

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/lizhou/fangxin/connectors"
)

// Kind registers the postgres source.
var Kind = connectors.SourceKind{
	Name:    "postgres",
	Summary: "Polls a PostgreSQL table or view by watermark (an increasing id or updated_at, with a key to break ties).",
	Config:  func() connectors.SourceConfig { return &Config{} },
}

// Config configures the postgres source.
type Config struct {
	URL          string        `yaml:"url" required:"true" secret:"true" desc:"Connection URL, e.g. postgres://reader:${PG_PASSWORD}@10.0.0.5:5432/amr?sslmode=require. Write ${VAR} to read it from the environment."`
	Table        string        `yaml:"table" required:"true" desc:"The table or view to poll, optionally schema-qualified (public.投诉登记). Names are quoted, so Chinese names work."`
	Watermark    string        `yaml:"watermark" required:"true" desc:"The increasing column rows are read in order of: an id from a sequence, or updated_at set on every change."`
	Key          string        `yaml:"key" desc:"A unique column that breaks ties of the watermark (the primary key). Default: the watermark itself, which must then be unique (an id)."`
	Columns      []string      `yaml:"columns" desc:"The columns to read. Default: all."`
	BatchSize    int           `yaml:"batch_size" default:"500" desc:"Rows per query."`
	PollInterval time.Duration `yaml:"poll_interval" default:"10s" desc:"Wait after the last row before polling for new ones."`
}

// Validate reports every problem.
func (c *Config) Validate() error {
	var errs []error
	if c.URL != "" && !strings.HasPrefix(c.URL, "postgres://") && !strings.HasPrefix(c.URL, "postgresql://") {
		errs = append(errs, errors.New("url: 应以 postgres:// 开头 (must start with postgres://)"))
	}
	if c.BatchSize < 1 || c.BatchSize > 10000 {
		errs = append(errs, fmt.Errorf("batch_size: 应在 1 到 10000 之间 (must be 1..10000), got %d", c.BatchSize))
	}
	if c.PollInterval <= 0 {
		errs = append(errs, errors.New("poll_interval: 应为正数 (must be positive)"))
	}
	if strings.Count(c.Table, ".") > 1 {
		errs = append(errs, fmt.Errorf("table: %q 应为 表名 或 模式.表名 (must be table or schema.table)", c.Table))
	}
	return errors.Join(errs...)
}

// token is the checkpoint: the watermark and key of the last row done, as text.
type token struct {
	W string `json:"w"`
	K string `json:"k"`
}

// Source reads one table.
type Source struct {
	cfg      Config
	conn     *pgx.Conn
	table    string // sanitized
	first    string // query from the beginning
	next     string // query after a (watermark, key)
	single   bool   // the key is the watermark
	pos      *token // last row handed out; nil before the first
	buf      []connectors.Record
	zoneless map[string]bool // date and timestamp columns: wall clock in Asia/Shanghai
}

var (
	_ connectors.Source = (*Source)(nil)
	_ connectors.Poller = (*Source)(nil)
)

// Column names of the watermark and key text the query adds.
const (
	colW = "fangxin_watermark"
	colK = "fangxin_key"
)

// Open connects, looks the watermark and key types up and resumes after checkpoint.
func (c *Config) Open(ctx context.Context, env connectors.Env, checkpoint string) (connectors.Source, error) {
	s := &Source{cfg: *c}
	if s.cfg.Key == "" {
		s.cfg.Key = s.cfg.Watermark
	}
	s.single = s.cfg.Key == s.cfg.Watermark
	if checkpoint != "" {
		var t token
		if err := json.Unmarshal([]byte(checkpoint), &t); err != nil {
			return nil, fmt.Errorf("检查点无法识别 (unreadable checkpoint) %q: %w", checkpoint, err)
		}
		s.pos = &t
	}
	conn, err := pgx.Connect(ctx, c.URL)
	if err != nil {
		return nil, fmt.Errorf("postgres: 无法连接数据库 (cannot connect): %w", err)
	}
	s.conn = conn
	if err := s.prepare(ctx); err != nil {
		_ = conn.Close(context.Background())
		return nil, err
	}
	return s, nil
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

func (s *Source) prepare(ctx context.Context) error {
	parts := strings.Split(s.cfg.Table, ".")
	s.table = pgx.Identifier(parts).Sanitize()
	colType := func(col string) (string, error) {
		var typ string
		err := s.conn.QueryRow(ctx, `SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
			WHERE a.attrelid = $1::regclass AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped`, s.table, col).Scan(&typ)
		if errors.Is(err, pgx.ErrNoRows) {
			return "", fmt.Errorf("postgres: 表 %s 没有列 %q (table %s has no column %q)", s.cfg.Table, col, s.cfg.Table, col)
		}
		if err != nil {
			return "", fmt.Errorf("postgres: 表 %s 无法读取 (cannot read table %s): %w", s.cfg.Table, s.cfg.Table, err)
		}
		return typ, nil
	}
	wType, err := colType(s.cfg.Watermark)
	if err != nil {
		return err
	}
	kType, err := colType(s.cfg.Key)
	if err != nil {
		return err
	}
	cols := "t.*"
	if len(s.cfg.Columns) > 0 {
		qs := make([]string, len(s.cfg.Columns))
		for i, c := range s.cfg.Columns {
			if _, err := colType(c); err != nil {
				return err
			}
			qs[i] = "t." + ident(c)
		}
		cols = strings.Join(qs, ", ")
	}
	w, k := "t."+ident(s.cfg.Watermark), "t."+ident(s.cfg.Key)
	sel := fmt.Sprintf("SELECT %s, (%s)::text AS %s, (%s)::text AS %s FROM %s t", cols, w, colW, k, colK, s.table)
	order := fmt.Sprintf(" ORDER BY %s, %s LIMIT %d", w, k, s.cfg.BatchSize)
	if s.single {
		order = fmt.Sprintf(" ORDER BY %s LIMIT %d", w, s.cfg.BatchSize)
		s.next = sel + fmt.Sprintf(" WHERE %s > ($1::text)::%s", w, wType) + order
	} else {
		s.next = sel + fmt.Sprintf(" WHERE (%s, %s) > (($1::text)::%s, ($2::text)::%s)", w, k, wType, kType) + order
	}
	s.first = sel + order
	return nil
}

// Read returns the next row, or io.EOF when no row is past the watermark at the moment.
func (s *Source) Read(ctx context.Context) (connectors.Record, error) {
	if len(s.buf) == 0 {
		if err := s.fetch(ctx); err != nil {
			return connectors.Record{}, err
		}
		if len(s.buf) == 0 {
			return connectors.Record{}, io.EOF
		}
	}
	r := s.buf[0]
	s.buf = s.buf[1:]
	return r, nil
}

func (s *Source) fetch(ctx context.Context) error {
	var rows pgx.Rows
	var err error
	switch {
	case s.pos == nil:
		rows, err = s.conn.Query(ctx, s.first)
	case s.single:
		rows, err = s.conn.Query(ctx, s.next, s.pos.W)
	default:
		rows, err = s.conn.Query(ctx, s.next, s.pos.W, s.pos.K)
	}
	if err != nil {
		return fmt.Errorf("postgres: 查询 %s 失败 (query failed): %w", s.cfg.Table, err)
	}
	defer rows.Close()
	fds := rows.FieldDescriptions()
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return fmt.Errorf("postgres: 读取 %s 失败 (read failed): %w", s.cfg.Table, err)
		}
		rec := connectors.Record{Values: make(map[string]any, len(vals))}
		var t token
		for i, fd := range fds {
			switch fd.Name {
			case colW:
				t.W, _ = vals[i].(string)
				continue
			case colK:
				t.K, _ = vals[i].(string)
				continue
			}
			rec.Values[fd.Name] = value(vals[i], fd.DataTypeOID)
		}
		cp, _ := json.Marshal(t)
		rec.Checkpoint = string(cp)
		rec.Position = connectors.Position{Table: s.cfg.Table, Key: s.cfg.Key + "=" + t.K}
		s.pos = &t
		s.buf = append(s.buf, rec)
	}
	if err := rows.Err(); err != nil {
		s.buf = nil
		return fmt.Errorf("postgres: 读取 %s 失败 (read failed): %w", s.cfg.Table, err)
	}
	return nil
}

// value converts a column value for the mapping (see the package doc).
func value(v any, oid uint32) any {
	switch x := v.(type) {
	case nil, string, bool, int16, int32, int64, float32, float64:
		return x
	case time.Time:
		if oid == pgtype.DateOID || oid == pgtype.TimestampOID {
			return time.Date(x.Year(), x.Month(), x.Day(), x.Hour(), x.Minute(), x.Second(), x.Nanosecond(), connectors.Shanghai)
		}
		return x
	case []byte:
		return string(x)
	case [16]byte:
		return pgtype.UUID{Bytes: x, Valid: true}.String()
	case driver.Valuer:
		dv, err := x.Value()
		if err != nil {
			return fmt.Sprint(x)
		}
		if s, ok := dv.(string); ok {
			return s
		}
		return dv
	}
	return fmt.Sprint(v)
}

// PollInterval is the wait after the last row.
func (s *Source) PollInterval() time.Duration { return s.cfg.PollInterval }

// Close closes the connection.
func (s *Source) Close() error { return s.conn.Close(context.Background()) }
