package file

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"

	"github.com/lizhou/fangxin/connectors"
)

// CSV is the csv source kind.
var CSV = connectors.SourceKind{
	Name:    "csv",
	Summary: "A CSV export in UTF-8, GBK or GB18030 (detected or declared), one record per row after the header.",
	Config:  func() connectors.SourceConfig { return new(CSVConfig) },
}

// Encodings a CSV source accepts.
var Encodings = []string{"auto", "utf-8", "gbk", "gb18030"}

// CSVConfig configures the csv source kind.
type CSVConfig struct {
	Path      string `yaml:"path" required:"true" desc:"The CSV file, relative to the connector file."`
	Encoding  string `yaml:"encoding" default:"auto" desc:"Text encoding: auto, utf-8, gbk or gb18030. auto takes UTF-8 when the file starts with a byte-order mark or its first MiB is valid UTF-8, else GB18030 (a superset of GBK, what Chinese office software writes)."`
	Delimiter string `yaml:"delimiter" default:"," desc:"Field separator, one character (\",\", \";\", \"\\t\" for tab)."`
	HeaderRow int    `yaml:"header_row" default:"1" desc:"Line of the column names; lines above it (titles) are skipped."`
}

// SetPath replaces the configured file (connect check CONFIG FILE).
func (c *CSVConfig) SetPath(p string) { c.Path = p }

// Validate reports every problem at once.
func (c *CSVConfig) Validate() error {
	var errs []error
	if !slices.Contains(Encodings, c.Encoding) {
		errs = append(errs, fmt.Errorf("encoding: %q 应为 %v (must be one of %v)", c.Encoding, Encodings, Encodings))
	}
	if d := []rune(unescapeTab(c.Delimiter)); len(d) != 1 || d[0] == '"' || d[0] == '\n' || d[0] == '\r' {
		errs = append(errs, fmt.Errorf("delimiter: %q 应为一个字符 (must be one character, not a quote or newline)", c.Delimiter))
	}
	if c.HeaderRow < 1 {
		errs = append(errs, fmt.Errorf("header_row: 应不小于 1 (must be at least 1), got %d", c.HeaderRow))
	}
	return errors.Join(errs...)
}

func unescapeTab(s string) string {
	if s == `\t` {
		return "\t"
	}
	return s
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type csvSource struct {
	f        *os.File
	fi       os.FileInfo
	counted  *countingReader
	buf      *bufio.Reader // read ahead of the parser: Progress subtracts what it holds
	r        *csv.Reader
	names    []string
	name     string
	encoding string // the one in use (auto resolved)
	after    int    // resume after this line
}

// Open implements connectors.SourceConfig.
func (c *CSVConfig) Open(_ context.Context, env connectors.Env, checkpoint string) (connectors.Source, error) {
	path := env.Path(c.Path)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	after, err := resumeRow(checkpoint, fi, env.Logger, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	s := &csvSource{f: f, fi: fi, name: display(path), after: after}
	s.counted = &countingReader{r: f}
	br := bufio.NewReaderSize(s.counted, 1<<20)
	s.buf = br
	enc := c.Encoding
	if enc == "auto" {
		sample, _ := br.Peek(1 << 20) // io.EOF for a small file: the sample is the whole file
		enc = DetectEncoding(sample)
	}
	s.encoding = enc
	var text io.Reader = br
	switch enc {
	case "utf-8":
		if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
			br.Discard(3)
		}
	case "gbk":
		text = transform.NewReader(br, simplifiedchinese.GBK.NewDecoder())
	case "gb18030":
		text = transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder())
	}
	r := csv.NewReader(text)
	r.Comma = []rune(unescapeTab(c.Delimiter))[0]
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	s.r = r
	for {
		cells, err := r.Read()
		if err != nil {
			f.Close()
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("%s：找不到第 %d 行的表头 (no header at line %d)", s.name, c.HeaderRow, c.HeaderRow)
			}
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		if line, _ := r.FieldPos(0); line < c.HeaderRow {
			continue
		}
		if s.names, err = header(cells, s.name); err != nil {
			f.Close()
			return nil, err
		}
		if enc == "utf-8" && !validUTF8(cells) {
			f.Close()
			return nil, fmt.Errorf("%s：表头不是有效的 UTF-8，请设置 encoding: gbk (the header is not valid UTF-8; set encoding: gbk)", s.name)
		}
		break
	}
	return s, nil
}

// DetectEncoding picks utf-8 or gb18030 for a sample of a file: UTF-8 when it starts with a
// byte-order mark or is valid UTF-8 (a rune cut at the sample's end is allowed), otherwise
// GB18030, which decodes GBK and GB2312 too.
func DetectEncoding(sample []byte) string {
	if bytes.HasPrefix(sample, []byte("\xef\xbb\xbf")) {
		return "utf-8"
	}
	// Allow one rune cut at the end of the sample.
	for i := 0; i < utf8.UTFMax && len(sample) > 0; i++ {
		if utf8.Valid(sample) {
			return "utf-8"
		}
		sample = sample[:len(sample)-1]
	}
	if utf8.Valid(sample) {
		return "utf-8"
	}
	return "gb18030"
}

func validUTF8(cells []string) bool {
	for _, c := range cells {
		if !utf8.ValidString(c) {
			return false
		}
	}
	return true
}

// Read implements connectors.Source.
func (s *csvSource) Read(ctx context.Context) (connectors.Record, error) {
	for {
		if err := ctx.Err(); err != nil {
			return connectors.Record{}, err
		}
		cells, err := s.r.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return connectors.Record{}, io.EOF
			}
			return connectors.Record{}, fmt.Errorf("%s: %w", s.name, err)
		}
		line, _ := s.r.FieldPos(0)
		if line <= s.after {
			continue
		}
		if s.encoding == "utf-8" && !validUTF8(cells) {
			return connectors.Record{}, fmt.Errorf("%s 第%d行不是有效的 UTF-8，请设置 encoding: gbk 或 gb18030 (line %d is not valid UTF-8; set encoding: gbk or gb18030)", s.name, line, line)
		}
		vals, ok := values(s.names, cells)
		if !ok {
			continue
		}
		return connectors.Record{
			Position:   connectors.Position{File: s.name, Row: line},
			Values:     vals,
			Checkpoint: newToken(s.fi, line),
		}, nil
	}
}

// Progress implements connectors.Progresser in bytes of the file (give or take the decoder's
// and parser's few KiB of buffers).
func (s *csvSource) Progress() (done, total int64) {
	return s.counted.n - int64(s.buf.Buffered()), s.fi.Size()
}

// ProgressInBytes tells the runner's progress bar that Progress counts bytes.
func (s *csvSource) ProgressInBytes() {}

// Close implements connectors.Source.
func (s *csvSource) Close() error { return s.f.Close() }
