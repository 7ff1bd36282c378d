package connectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/time/rate"

	"github.com/lizhou/fangxin/events"
)

// Options are the surroundings of one Run.
type Options struct {
	Logger *slog.Logger
	// Registerer receives the connector's metrics; nil registers them nowhere.
	Registerer prometheus.Registerer
	// Progress, when set, gets a progress bar (pass os.Stderr only when it is a terminal).
	Progress io.Writer
	// Once stops at the end of the source's records even when it is a Poller.
	Once bool
	// DryRun, when set, makes Run a check: every event that would be sent is written to DryRun
	// as one JSON line and every failed record to Errors, nothing is sent, and neither the
	// checkpoint nor the dead-letter file is touched. The source is read from the beginning.
	DryRun io.Writer
	Errors io.Writer
}

// Stats count what a Run did.
type Stats struct {
	Read         int64 `json:"read"`
	Sent         int64 `json:"sent"`
	DeadLettered int64 `json:"dead_lettered"`
	Skipped      int64 `json:"skipped"` // matched a skip mapping
}

// Run reads the connector's source, maps and validates every record, and sends the events in
// batches to its sink, until the source is exhausted (or, for a Poller without Options.Once,
// until ctx ends). After each batch the sink acknowledged, it syncs the dead-letter file and
// saves the checkpoint, so a run killed at any moment and started again sends every record's
// event at least once, and the hub, deduplicating on (source, id), holds it exactly once.
//
// A record that fails mapping or validation, or that the sink rejects for good, goes to the
// dead-letter file and the run goes on. A sink error (the hub unreachable after retries) stops
// the run with the error; the checkpoint still points before the unsent batch. When ctx ends,
// Run returns ctx.Err() without sending the batch it was filling; the next run reads it again.
func Run(ctx context.Context, l *Loaded, opt Options) (Stats, error) {
	var st Stats
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Registerer == nil {
		opt.Registerer = prometheus.NewRegistry()
	}
	log := opt.Logger.With("connector", l.Name)
	env := Env{Dir: l.Dir, Name: l.Name, Bureau: l.Bureau, Logger: log, Registerer: opt.Registerer}
	met := NewMetrics(opt.Registerer)
	dry := opt.DryRun != nil
	if opt.Errors == nil {
		opt.Errors = io.Discard
	}

	cpf := CheckpointFile{Path: l.CheckpointPath()}
	var cp Checkpoint
	var sink Sink
	var dead deadLetterWriter
	if dry {
		sink = printSink{json.NewEncoder(opt.DryRun)}
		dead = printDead{opt.Errors}
	} else {
		if l.SinkErr != nil {
			return st, l.SinkErr
		}
		if l.Sink == nil {
			return st, errors.New("sink: 运行需要配置 sink (run needs a sink block)")
		}
		var err error
		if cp, err = cpf.Load(); err != nil {
			return st, err
		}
		dlf, err := OpenDeadLetterFile(l.DeadLetterPath())
		if err != nil {
			return st, err
		}
		defer dlf.Close()
		dead = dlf
		if sink, err = l.Sink.Open(ctx, env); err != nil {
			return st, fmt.Errorf("sink %s: %w", l.SinkKind, err)
		}
		defer sink.Close()
	}
	src, err := l.Source.Open(ctx, env, cp.Token)
	if err != nil {
		return st, fmt.Errorf("source %s: %w", l.SourceKind, err)
	}
	defer src.Close()
	if cp.Token != "" {
		log.Info("resuming after checkpoint", "records_done", cp.Records, "updated_at", cp.UpdatedAt)
	}

	var limiter *rate.Limiter
	if l.Rate > 0 {
		limiter = rate.NewLimiter(rate.Limit(l.Rate), max(1, int(l.Rate)))
	}
	var bar *progressbar.ProgressBar
	prog, _ := src.(Progresser)
	if opt.Progress != nil {
		total := int64(-1)
		if prog != nil {
			_, total = prog.Progress()
		}
		_, inBytes := src.(interface{ ProgressInBytes() })
		bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(opt.Progress),
			progressbar.OptionSetDescription(l.Name), progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionShowCount(), progressbar.OptionShowBytes(inBytes),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(opt.Progress) }))
		defer bar.Exit() // leaves the bar as it is when the run stops early; Finish below on success
	}

	type pending struct {
		ev  events.Event
		rec Record
	}
	var (
		batch      []pending
		undone     int    // records read since the last checkpoint
		lastToken  string // checkpoint of the last record read
		readLabels = met.Read.WithLabelValues(l.Name)
	)
	deadLetter := func(rec Record, stage string, ev *events.Event, r Reason) error {
		st.DeadLettered++
		met.DeadLettered.WithLabelValues(l.Name, stage).Inc()
		return dead.Write(DeadLetter{Time: time.Now(), Connector: l.Name, Position: rec.Position,
			Record: rec.Values, Stage: stage, Event: ev, Reason: r})
	}
	flush := func() error {
		if undone == 0 {
			return nil
		}
		if len(batch) > 0 {
			evs := make([]events.Event, len(batch))
			for i, p := range batch {
				evs[i] = p.ev
			}
			start := time.Now()
			res, err := sink.Send(ctx, evs)
			met.SendSeconds.WithLabelValues(l.Name).Observe(time.Since(start).Seconds())
			if err != nil {
				return fmt.Errorf("sink %s: %w", l.SinkKind, err)
			}
			if len(res) != len(evs) {
				return fmt.Errorf("sink %s answered %d results for %d events", l.SinkKind, len(res), len(evs))
			}
			for i, r := range res {
				if r.Rejected != nil {
					r.Rejected.ZH = batch[i].rec.Position.String() + "：" + r.Rejected.ZH
					r.Rejected.EN = batch[i].rec.Position.String() + ": " + r.Rejected.EN
					if err := deadLetter(batch[i].rec, StageSink, &evs[i], *r.Rejected); err != nil {
						return err
					}
					continue
				}
				st.Sent++
				met.Sent.WithLabelValues(l.Name).Inc()
			}
		}
		if !dry {
			if err := dead.Sync(); err != nil {
				return err
			}
			cp = Checkpoint{Connector: l.Name, Token: lastToken, Records: cp.Records + int64(undone), UpdatedAt: time.Now().UTC()}
			if err := cpf.Save(cp); err != nil {
				return fmt.Errorf("checkpoint: %w", err)
			}
		}
		batch, undone = batch[:0], 0
		return nil
	}

	poller, _ := src.(Poller)
	for {
		if limiter != nil {
			if err := limiter.Wait(ctx); err != nil {
				return st, err // stopped: the unsent batch is read again next run
			}
		}
		rec, err := src.Read(ctx)
		if errors.Is(err, io.EOF) {
			if err := flush(); err != nil {
				return st, err
			}
			if poller == nil || opt.Once || dry {
				break
			}
			select {
			case <-ctx.Done():
				return st, nil
			case <-time.After(poller.PollInterval()):
			}
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return st, ctx.Err() // stopped: the unsent batch is read again next run
			}
			// Keep what is done: flush what was mapped before the failure.
			return st, errors.Join(fmt.Errorf("source %s: %w", l.SourceKind, err), flush())
		}
		st.Read++
		readLabels.Inc()
		undone++
		lastToken = rec.Checkpoint
		if bar != nil {
			if prog != nil {
				done, _ := prog.Progress()
				bar.Set64(done)
			} else {
				bar.Add(1)
			}
		}

		ev, err := MapRecord(l.Mappings, rec)
		var r Reason
		switch {
		case errors.Is(err, ErrSkip):
			st.Skipped++
		case errors.As(err, &r):
			if err := deadLetter(rec, StageMapping, nil, r); err != nil {
				return st, err
			}
		case err != nil:
			return st, err
		default:
			if ps := events.Validate(ev, l.Bureau); len(ps) > 0 {
				if err := deadLetter(rec, StageValidation, &ev, validationReason(rec.Position, ps)); err != nil {
					return st, err
				}
			} else {
				batch = append(batch, pending{ev, rec})
			}
		}
		if undone >= l.BatchSize {
			if err := flush(); err != nil {
				return st, err
			}
		}
	}
	if bar != nil {
		bar.Finish()
	}
	log.Info("connector run finished", "read", st.Read, "sent", st.Sent, "dead_lettered", st.DeadLettered, "skipped", st.Skipped)
	return st, nil
}

func validationReason(pos Position, ps []events.Problem) Reason {
	var zh, en []string
	for _, p := range ps {
		zh = append(zh, p.Field+"："+p.Detail)
		en = append(en, p.Field+": "+p.DetailEN)
	}
	return Reason{
		ZH:       pos.String() + "：事件未通过校验：" + strings.Join(zh, "；"),
		EN:       pos.String() + ": the event is invalid: " + strings.Join(en, "; "),
		Problems: ps,
	}
}

type deadLetterWriter interface {
	Write(DeadLetter) error
	Sync() error
}

// printSink is the dry run's sink: it prints every event and accepts it.
type printSink struct{ enc *json.Encoder }

func (p printSink) Send(_ context.Context, evs []events.Event) ([]Result, error) {
	for _, ev := range evs {
		if err := p.enc.Encode(ev); err != nil {
			return nil, err
		}
	}
	return make([]Result, len(evs)), nil
}

func (printSink) Close() error { return nil }

// printDead is the dry run's dead-letter file: one line per failed record.
type printDead struct{ w io.Writer }

func (p printDead) Write(dl DeadLetter) error {
	_, err := fmt.Fprintf(p.w, "错误 error [%s] %s\n    %s\n", dl.Stage, dl.ZH, dl.EN)
	return err
}

func (printDead) Sync() error { return nil }
