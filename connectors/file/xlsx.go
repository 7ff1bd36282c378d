package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"

	"github.com/xuri/excelize/v2"

	"github.com/lizhou/fangxin/connectors"
)

// XLSX is the xlsx source kind.
var XLSX = connectors.SourceKind{
	Name:    "xlsx",
	Summary: "An Excel workbook (.xlsx), one sheet streamed row by row, one record per row after the header.",
	Config:  func() connectors.SourceConfig { return new(XLSXConfig) },
}

// XLSXConfig configures the xlsx source kind.
type XLSXConfig struct {
	Path      string `yaml:"path" required:"true" desc:"The .xlsx workbook, relative to the connector file."`
	Sheet     string `yaml:"sheet" desc:"The sheet to read, by its name (e.g. 登记信息). Default: the first sheet."`
	HeaderRow int    `yaml:"header_row" default:"1" desc:"Row of the column names; rows above it (titles) are skipped."`
}

// SetPath replaces the configured file (connect check CONFIG FILE).
func (c *XLSXConfig) SetPath(p string) { c.Path = p }

// Validate reports every problem at once.
func (c *XLSXConfig) Validate() error {
	if c.HeaderRow < 1 {
		return fmt.Errorf("header_row: 应不小于 1 (must be at least 1), got %d", c.HeaderRow)
	}
	return nil
}

type xlsxSource struct {
	f     *excelize.File
	rows  *excelize.Rows
	fi    os.FileInfo
	names []string
	name  string
	sheet string
	row   int // the row Next last moved to
	after int
	total int64
}

// Cells are read raw (RawCellValue): dates come as Excel serial numbers, which the mapping's time
// conversion reads, and amounts without their display format.
var rawCells = excelize.Options{RawCellValue: true}

// Open implements connectors.SourceConfig.
func (c *XLSXConfig) Open(_ context.Context, env connectors.Env, checkpoint string) (connectors.Source, error) {
	path := env.Path(c.Path)
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	after, err := resumeRow(checkpoint, fi, env.Logger, path)
	if err != nil {
		return nil, err
	}
	f, err := excelize.OpenFile(path, rawCells)
	if err != nil {
		return nil, fmt.Errorf("%s：不是可读的 xlsx 工作簿 (not a readable xlsx workbook): %w", display(path), err)
	}
	sheet := c.Sheet
	if sheet == "" {
		sheet = f.GetSheetName(0)
	}
	if idx, err := f.GetSheetIndex(sheet); err != nil || idx < 0 {
		f.Close()
		return nil, fmt.Errorf("%s：没有工作表「%s」(no sheet %q; sheets: %v)", display(path), sheet, sheet, f.GetSheetList())
	}
	rows, err := f.Rows(sheet)
	if err != nil {
		f.Close()
		return nil, err
	}
	s := &xlsxSource{f: f, rows: rows, fi: fi, name: display(path), sheet: sheet, after: after, total: -1}
	if dim, err := f.GetSheetDimension(sheet); err == nil {
		if m := lastRowRE.FindStringSubmatch(dim); m != nil {
			s.total, _ = strconv.ParseInt(m[1], 10, 64)
		}
	}
	for s.row < c.HeaderRow {
		if !rows.Next() {
			s.Close()
			if err := rows.Error(); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("%s：找不到第 %d 行的表头 (no header at row %d)", s.name, c.HeaderRow, c.HeaderRow)
		}
		s.row++
	}
	cells, err := rows.Columns(rawCells)
	if err != nil {
		s.Close()
		return nil, err
	}
	if s.names, err = header(cells, s.name); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

var lastRowRE = regexp.MustCompile(`:[A-Z]+(\d+)$`)

// Read implements connectors.Source.
func (s *xlsxSource) Read(ctx context.Context) (connectors.Record, error) {
	for {
		if err := ctx.Err(); err != nil {
			return connectors.Record{}, err
		}
		if !s.rows.Next() {
			if err := s.rows.Error(); err != nil {
				return connectors.Record{}, fmt.Errorf("%s: %w", s.name, err)
			}
			return connectors.Record{}, io.EOF
		}
		s.row++
		if s.row <= s.after {
			continue
		}
		cells, err := s.rows.Columns(rawCells)
		if err != nil {
			return connectors.Record{}, fmt.Errorf("%s 第%d行: %w", s.name, s.row, err)
		}
		vals, ok := values(s.names, cells)
		if !ok {
			continue
		}
		return connectors.Record{
			Position:   connectors.Position{File: s.name, Sheet: s.sheet, Row: s.row},
			Values:     vals,
			Checkpoint: newToken(s.fi, s.row),
		}, nil
	}
}

// Progress implements connectors.Progresser in rows (total from the sheet's dimension, when the
// writer recorded it).
func (s *xlsxSource) Progress() (done, total int64) { return int64(s.row), s.total }

// Close implements connectors.Source.
func (s *xlsxSource) Close() error {
	return errors.Join(s.rows.Close(), s.f.Close())
}
