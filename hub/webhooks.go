package hub

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/lizhou/fangxin/delivery"
	"github.com/lizhou/fangxin/delivery/boltstore"
	"github.com/lizhou/fangxin/delivery/esstore"
	"github.com/lizhou/fangxin/gateway"
)

// Webhook delivery (package delivery): the store follows the views backend (embedded views:
// DATA_DIR/webhooks.db; Elasticsearch views: Elasticsearch), the deliverer runs in the
// projector role, the subscription routes in the gateway role.

// webhooks is the hub's webhook delivery, opened by openWebhooks.
type webhooks struct {
	store delivery.Store
	// deliverer is set once the projector role starts it; wake reaches its workers.
	deliverer *delivery.Deliverer
	router    *message.Router
}

func openWebhooks(ctx context.Context, cfg Config, _ Deps) (*webhooks, error) {
	if es := cfg.Views.Elasticsearch; es != nil {
		ns, err := namespaceOf(ctx)
		if err != nil {
			return nil, err
		}
		sctx, cancel := context.WithTimeout(ctx, startTimeout)
		defer cancel()
		st, err := esstore.Open(sctx, esstore.Config{URLs: es.URLs, IndexPrefix: ns.IndexPrefix()})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", settingES, err)
		}
		return &webhooks{store: st}, nil
	}
	st, err := boltstore.Open(filepath.Join(cfg.DataDir, "webhooks.db"))
	if err != nil {
		return nil, err
	}
	return &webhooks{store: st}, nil
}

// Close closes the store; the router and workers stop with Run's context.
func (w *webhooks) Close() error {
	if w == nil {
		return nil
	}
	if w.router != nil {
		_ = w.router.Close()
	}
	return w.store.Close()
}

// start runs the deliverer's consumer and workers until ctx ends.
func (w *webhooks) start(ctx context.Context, cfg Config, d Deps, lg logBackend, wg *sync.WaitGroup, errc chan<- error) error {
	if w == nil {
		return nil
	}
	dl, err := delivery.NewDeliverer(w.store, cfg.Webhooks, d.Logger, d.Registerer)
	if err != nil {
		return err
	}
	sub, err := lg.Subscriber(delivery.Handler, delivery.Interest)
	if err != nil {
		return err
	}
	router, err := delivery.NewRouter(dl, sub, d.Logger)
	if err != nil {
		return err
	}
	w.deliverer, w.router = dl, router
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := router.Run(ctx); err != nil {
			errc <- fmt.Errorf("webhooks: %w", err)
		}
	}()
	go func() {
		defer wg.Done()
		dl.Run(ctx)
	}()
	return nil
}

// service is the gateway's side; nil (no routes) when the hub runs without webhooks.
func (w *webhooks) service(cfg Config) (gateway.Webhooks, error) {
	if w == nil {
		return nil, nil
	}
	wake := func() {
		if w.deliverer != nil {
			w.deliverer.Wake()
		}
	}
	return delivery.NewService(w.store, cfg.Webhooks, wake)
}
