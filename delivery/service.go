package delivery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/lizhou/fangxin/events"
)

// Service is what the gateway calls: subscription management and the delivery log, scoped to
// the calling bureau. It is safe for concurrent use.
type Service struct {
	store Store
	cfg   Config
	dest  Destinations
	now   func() time.Time
	wake  func()
}

// NewService builds a Service over store. wake, when not nil, is called after a manual
// redelivery so the workers pick it up at once.
func NewService(store Store, cfg Config, wake func()) (*Service, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dest, _ := cfg.destinations()
	if wake == nil {
		wake = func() {}
	}
	return &Service{store: store, cfg: cfg, dest: dest, now: time.Now, wake: wake}, nil
}

// NewSubscription is the body of POST /v1/subscriptions.
type NewSubscription struct {
	URL         string `json:"url"`
	Description string `json:"description,omitempty"`
	Filter      Filter `json:"filter"`
}

var ruleRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

const maxFilterValues = 50

// validate checks a subscription request and normalises its townships to codes. It returns
// every problem, each naming the field and the rule.
func (s *Service) validate(ctx context.Context, req *NewSubscription) []events.Problem {
	var ps []events.Problem
	add := func(field, rule, zh, en string) {
		ps = append(ps, events.Problem{Field: field, Rule: rule, Detail: zh, DetailEN: en})
	}
	switch {
	case strings.TrimSpace(req.URL) == "":
		add("url", events.RuleRequired, "缺少接收地址 url", "url is required")
	case len(req.URL) > 2048:
		add("url", events.RuleMaxLength, "接收地址 url 超过 2048 个字符", "url is longer than 2048 characters")
	default:
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		rule, err := s.dest.CheckURL(cctx, req.URL)
		cancel()
		if err != nil {
			zh := map[string]string{
				"url":                "接收地址 url 须为完整的 http(s) 地址，且不含用户名密码",
				"resolvable":         "接收地址 url 的主机名无法解析",
				"public-destination": "接收地址 url 指向内网、本机或链路本地地址，未列入允许名单，不能使用",
			}[rule]
			if rule == "url" {
				rule = events.RuleFormat
			}
			add("url", rule, zh, err.Error())
		}
	}
	if len([]rune(req.Description)) > 200 {
		add("description", events.RuleMaxLength, "说明 description 超过 200 个字", "description is longer than 200 characters")
	}
	f := &req.Filter
	for name, n := range map[string]int{"types": len(f.Types), "rules": len(f.Rules), "levels": len(f.Levels),
		"industries": len(f.Industries), "townships": len(f.Townships)} {
		if n > maxFilterValues {
			add("filter/"+name, "max-items", fmt.Sprintf("filter/%s 最多 %d 项", name, maxFilterValues),
				fmt.Sprintf("filter/%s has more than %d values", name, maxFilterValues))
		}
	}
	for i, t := range f.Types {
		if !slices.Contains(DeliverableTypes, t) {
			add(fmt.Sprintf("filter/types/%d", i), events.RuleEnum, "事件类型"+quote(t)+"不能订阅，可选："+strings.Join(DeliverableTypes, "、"),
				fmt.Sprintf("type %q cannot be subscribed; one of %s", t, strings.Join(DeliverableTypes, ", ")))
		}
	}
	for i, r := range f.Rules {
		if !ruleRe.MatchString(r) {
			add(fmt.Sprintf("filter/rules/%d", i), events.RulePattern, "规则名"+quote(r)+"格式不对：小写字母、数字、_ . -，至多 64 个字符",
				fmt.Sprintf("rule %q must match %s", r, ruleRe))
		}
	}
	for i, l := range f.Levels {
		if !slices.Contains(Levels, l) {
			add(fmt.Sprintf("filter/levels/%d", i), events.RuleEnum, "响应等级"+quote(l)+"不对，应为 I、II、III 或 IV",
				fmt.Sprintf("level %q is not one of I, II, III, IV", l))
		}
	}
	for i, c := range f.Industries {
		if _, ok := events.LookupIndustry(c); !ok {
			add(fmt.Sprintf("filter/industries/%d", i), events.RuleIndustry, "行业代码"+quote(c)+"不是 GB/T 4754-2017 的代码",
				fmt.Sprintf("industry %q is not a GB/T 4754-2017 code", c))
		}
	}
	for i, t := range f.Townships {
		if tw, ok := events.LookupTownship(t); ok {
			f.Townships[i] = tw.Code
		} else {
			add(fmt.Sprintf("filter/townships/%d", i), events.RuleTownship, "乡镇街道"+quote(t)+"不在利州区区划中",
				fmt.Sprintf("township %q is not a Lizhou township or street", t))
		}
	}
	return ps
}

func quote(s string) string { return "“" + s + "”" }

func newID(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Create validates req and stores a subscription of bureau. It returns the subscription, its
// secret (shown this once), or the problems of req (nothing stored).
func (s *Service) Create(ctx context.Context, bureau string, req NewSubscription) (Subscription, string, []events.Problem, error) {
	if ps := s.validate(ctx, &req); len(ps) > 0 {
		return Subscription{}, "", ps, nil
	}
	sub := Subscription{ID: newID("sub_"), Bureau: bureau, URL: req.URL, Description: req.Description,
		Filter: req.Filter, CreatedAt: s.now().UTC().Truncate(time.Millisecond), Secret: NewSecret()}
	if err := s.store.CreateSubscription(ctx, sub); err != nil {
		return Subscription{}, "", nil, err
	}
	return sub, sub.Secret, nil, nil
}

// List returns bureau's subscriptions ("" = all, for the admin).
func (s *Service) List(ctx context.Context, bureau string) ([]Subscription, error) {
	return s.store.ListSubscriptions(ctx, bureau)
}

// Get returns one subscription of bureau ("" = any); ErrNotFound when it is not there or not
// the bureau's.
func (s *Service) Get(ctx context.Context, bureau, id string) (Subscription, error) {
	sub, ok, err := s.store.Subscription(ctx, id)
	if err != nil {
		return Subscription{}, err
	}
	if !ok || (bureau != "" && sub.Bureau != bureau) {
		return Subscription{}, ErrNotFound
	}
	return sub, nil
}

// Delete removes one subscription of bureau ("" = any).
func (s *Service) Delete(ctx context.Context, bureau, id string) error {
	if _, err := s.Get(ctx, bureau, id); err != nil {
		return err
	}
	return s.store.DeleteSubscription(ctx, id)
}

// RotateSecret gives the subscription a new secret, returned this once; the old one keeps
// signing beside it for Config.RotationGrace.
func (s *Service) RotateSecret(ctx context.Context, bureau, id string) (Subscription, string, error) {
	if _, err := s.Get(ctx, bureau, id); err != nil {
		return Subscription{}, "", err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	until := now.Add(s.cfg.RotationGrace)
	secret := NewSecret()
	sub, err := s.store.UpdateSubscription(ctx, id, func(x *Subscription) {
		x.PreviousSecret, x.Secret = x.Secret, secret
		x.SecretRotatedAt, x.PreviousValidUntil = &now, &until
	})
	return sub, secret, err
}

// Deliveries returns a page of the delivery log of one subscription of bureau ("" = any).
func (s *Service) Deliveries(ctx context.Context, bureau, subscription string, limit int, after string) ([]Delivery, error) {
	if _, err := s.Get(ctx, bureau, subscription); err != nil {
		return nil, err
	}
	ds, err := s.store.ListDeliveries(ctx, subscription, limit, after)
	for i := range ds {
		ds[i].Claim = ""
	}
	return ds, err
}

// Redeliver sends one delivery of bureau ("" = any) again, now, whatever its state.
func (s *Service) Redeliver(ctx context.Context, bureau, id string) (Delivery, error) {
	d, ok, err := s.store.Delivery(ctx, id)
	if err != nil {
		return Delivery{}, err
	}
	if !ok || (bureau != "" && d.Bureau != bureau) {
		return Delivery{}, ErrNotFound
	}
	d, err = s.store.Redeliver(ctx, id, s.now().UTC())
	if err != nil {
		return Delivery{}, err
	}
	s.wake()
	d.Claim = ""
	return d, nil
}
