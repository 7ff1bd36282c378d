package hub

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/lizhou/fangxin/eventlog/boltlog"
	"github.com/lizhou/fangxin/eventlog/kafkalog"
	"github.com/lizhou/fangxin/gateway"
	"github.com/lizhou/fangxin/projections/incidents"
	"github.com/lizhou/fangxin/projections/rules"
)

// The incident side of the hub: the rule engine (projections/rules), the incident view
// (projections/incidents) and their gateway routes.
//
// The rule engine keeps its state in memory and rebuilds it at every start by replaying the log
// from the beginning (its consumer group is reset); its lifecycle events have deterministic ids,
// so the replay writes nothing new. Run it in one process per hub (role all or projector): it
// must read every partition. In the distributed mode, give all projectors but one
// --no-rule-engine (Config.NoRuleEngine); a projector that finds the engine's consumer group
// active at start (another process runs it) does not start a second one either.

// openIncidents opens the incident view: a bbolt file in the data folder (embedded views) or,
// in the distributed mode, Elasticsearch indices behind the namespace's prefix.
func openIncidents(ctx context.Context, cfg Config, d Deps) (incidents.Store, error) {
	if cfg.Views.Elasticsearch != nil {
		return openElasticIncidents(ctx, cfg, d)
	}
	path := filepath.Join(cfg.DataDir, "incidents.db")
	if cfg.Views.Embedded != nil {
		path = filepath.Join(cfg.Views.Embedded.Dir, "incidents.db")
	}
	return incidents.OpenBolt(path)
}

// incidentDeps are the gateway's incident routes for store and the hub's clock.
func incidentDeps(store incidents.Store, d Deps) *gateway.IncidentDeps {
	return &gateway.IncidentDeps{Store: store, Now: clockOf(d).Now}
}

func clockOf(d Deps) rules.Clock {
	if d.Clock != nil {
		return d.Clock
	}
	return rules.WallClock{}
}

// engineStandbyPoll is how often a projector that found the rule engine running in another
// process checks whether it still does.
const engineStandbyPoll = 10 * time.Second

// startIncidents starts the rule engine and the incident projector on the log. Exactly one
// process of a hub runs them: when another one already does (on Kafka, the engine's consumer
// group has members), this process stands by and takes over once the group is empty (that
// process stopped, or was killed and its membership expired), checking every
// engineStandbyPoll. wait blocks until everything stopped after ctx is cancelled.
func startIncidents(ctx context.Context, cfg Config, d Deps, lg logBackend, store incidents.Store) (wait func(), err error) {
	ruleCfg, err := rules.LoadConfig(cfg.RulesFile)
	if err != nil {
		return nil, err
	}
	err = lg.ResetGroup(ctx, rules.Handler)
	if err != nil && !errors.Is(err, kafkalog.ErrGroupActive) {
		return nil, fmt.Errorf("rules: replay from the start of the log: %w", err)
	}
	if err == nil {
		return runIncidents(ctx, d, lg, store, ruleCfg)
	}
	d.Logger.Info("the rule engine runs in another process of this hub; standing by", "err", err)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(engineStandbyPoll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			err := lg.ResetGroup(ctx, rules.Handler)
			if errors.Is(err, kafkalog.ErrGroupActive) {
				continue
			}
			if err == nil {
				d.Logger.Info("the rule engine's group is empty: running the rule engine here")
				wait, err := runIncidents(ctx, d, lg, store, ruleCfg)
				if err == nil {
					wait()
					return
				}
			}
			d.Logger.Warn("rules: taking over the rule engine failed; trying again", "err", err)
		}
	}()
	return wg.Wait, nil
}

// runIncidents runs the rule engine, from the start of the log (its group was just reset), and
// the incident projector.
func runIncidents(ctx context.Context, d Deps, lg logBackend, store incidents.Store, ruleCfg rules.Config) (wait func(), err error) {
	// The engine needs the log's order: with messages of many merchants in flight at once, one
	// merchant's events would be folded after later events of others, and judged late.
	rsub, err := orderedSubscriber(lg, rules.Handler)
	if err != nil {
		return nil, err
	}
	if f, ok := store.(incidents.Fresh); ok && f.Fresh() {
		// A new incident view (first start, or `fangxin rebuild` moved the views aside): fold
		// the log from its start.
		if err := lg.ResetGroup(ctx, incidents.Handler); err != nil && !errors.Is(err, kafkalog.ErrGroupActive) {
			return nil, fmt.Errorf("incidents: fold the log from the start: %w", err)
		}
	}
	isub, err := lg.Subscriber(incidents.Handler, incidents.Interest)
	if err != nil {
		return nil, err
	}
	runner := rules.NewRunner(rules.RunnerConfig{
		Rules: ruleCfg, Routing: rules.DefaultRouting(), Clock: clockOf(d),
		CaughtUp: func(ctx context.Context) bool {
			n, err := lg.Lag(ctx, rules.Handler)
			return err == nil && n == 0
		},
	}, lg.Publisher(), d.Logger, d.Registerer)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := runner.Run(ctx, rsub); err != nil {
			d.Logger.Error("rule engine stopped", "err", err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := incidents.Run(ctx, store, isub, d.Logger); err != nil {
			d.Logger.Error("incident projector stopped", "err", err)
		}
	}()
	return wg.Wait, nil
}

func openElasticIncidents(ctx context.Context, cfg Config, d Deps) (incidents.Store, error) {
	ns, err := namespaceOf(ctx)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, 2*startTimeout)
	defer cancel()
	s, err := incidents.OpenElastic(sctx, incidents.ElasticConfig{URLs: cfg.Views.Elasticsearch.URLs, IndexPrefix: ns.IndexPrefix()})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", settingES, err)
	}
	d.Logger.Info("elasticsearch incident view open", "index_prefix", ns.IndexPrefix())
	return s, nil
}

// orderedSubscriber returns a subscriber that hands out one message at a time, in log order,
// where the backend can (the embedded log: one partition, MaxInFlight 1). On Kafka the order is
// per partition (a merchant's events stay in order; merchants of different partitions interleave
// by arrival).
func orderedSubscriber(lg logBackend, group string) (message.Subscriber, error) {
	if b, ok := lg.(*boltBackend); ok {
		return b.l.Subscriber(boltlog.SubscriberConfig{ConsumerGroup: group, Logger: b.logger, MaxInFlight: 1})
	}
	return lg.Subscriber(group, nil)
}
