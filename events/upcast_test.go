package events

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
)

// A toy history for the tests: before v1, hotline connectors wrote complaint.filed with no
// dataschema and flat fields; then complaint.received v0 (dataschema …complaint.received.v0.json)
// with Chinese-pinyin field names; v1 is the current catalogue.
var v0ComplaintSchema = SchemaBaseURI + "complaint.received.v0.json"

// filedToV0 renames the type and names the version.
func filedToV0(ev Event) (Event, error) {
	ev.Type = TypeComplaintReceived
	ev.DataSchema = v0ComplaintSchema
	return ev, nil
}

// v0ToV1 maps the v0 payload onto v1: field names, and the amount from fen (分) to yuan.
func v0ToV1(ev Event) (Event, error) {
	var old struct {
		BianHao  string `json:"bianhao"`
		QuDao    string `json:"qudao"`
		LeiBie   string `json:"leibie"`
		NeiRong  string `json:"neirong"`
		ShouLi   string `json:"shouli_shijian"`
		JinE     *int64 `json:"jine_fen"`
		JieDao   string `json:"jiedao"`
		HangYe   string `json:"hangye"`
		Personal any    `json:"xingming"`
	}
	if err := json.Unmarshal(ev.Data, &old); err != nil {
		return ev, err
	}
	if old.BianHao == "" {
		return ev, errors.New("v0 complaint without bianhao")
	}
	d := map[string]any{
		"complaint_id": old.BianHao, "channel": old.QuDao, "category": old.LeiBie,
		"summary": old.NeiRong, "received_at": old.ShouLi,
	}
	if old.JinE != nil {
		d["amount_cny"] = float64(*old.JinE) / 100
	}
	if old.JieDao != "" {
		d["township"] = old.JieDao
	}
	if old.HangYe != "" {
		d["industry"] = old.HangYe
	}
	if name, ok := old.Personal.(string); ok {
		d["consumer"] = map[string]any{"name": name}
	}
	b, err := json.Marshal(d)
	if err != nil {
		return ev, err
	}
	ev.Data = b
	ev.DataSchema = SchemaURI(TypeComplaintReceived)
	return ev, nil
}

func toyRegistry(t *testing.T) *UpcasterRegistry {
	t.Helper()
	var r UpcasterRegistry // the zero value is ready
	if err := r.RegisterUpcaster(v0ComplaintSchema, v0ToV1); err != nil {
		t.Fatal(err)
	}
	if err := r.RegisterUpcaster("complaint.filed", filedToV0); err != nil {
		t.Fatal(err)
	}
	return &r
}

func v0Complaint() Event {
	ev := Example(TypeComplaintReceived)
	ev.DataSchema = v0ComplaintSchema
	ev.Data = json.RawMessage(`{"bianhao":"12315-2017-9","qudao":"12315","leibie":"预付卡","neirong":"闭店",
		"shouli_shijian":"2017-06-01T10:00:00+08:00","jine_fen":250050,"jiedao":"嘉陵街道","hangye":"R8930","xingming":"李某"}`)
	return ev
}

func TestUpcast(t *testing.T) {
	r := toyRegistry(t)

	current := Example(TypeComplaintReceived)
	got, err := r.Upcast(current)
	if err != nil || string(got.Data) != string(current.Data) || got.DataSchema != "" || got.Type != current.Type {
		t.Errorf("a current event changed: %+v, %v", got, err)
	}

	old := v0Complaint()
	if ps := Validate(old, ""); len(ps) == 0 {
		t.Fatalf("the v0 event passes v1 validation; the test proves nothing")
	}
	got, err = r.Upcast(old)
	if err != nil {
		t.Fatal(err)
	}
	if ps := Validate(got, ""); ps != nil {
		t.Errorf("upcast v0 event invalid: %v", ps)
	}
	if got.DataSchema != SchemaURI(TypeComplaintReceived) || got.ID != old.ID || got.Source != old.Source {
		t.Errorf("envelope: %+v", got)
	}
	d, _ := DecodeData(got)
	c := d.(*ComplaintReceived)
	if c.ComplaintID != "12315-2017-9" || c.AmountCNY == nil || *c.AmountCNY != 2500.50 || c.Consumer["name"] != "李某" {
		t.Errorf("payload: %+v", c)
	}
	if !strings.Contains(string(old.Data), "bianhao") {
		t.Errorf("Upcast modified its input")
	}

	filed := v0Complaint()
	filed.Type, filed.DataSchema = "complaint.filed", ""
	got, err = r.Upcast(filed) // two steps: complaint.filed -> v0 -> v1
	if err != nil {
		t.Fatal(err)
	}
	if ps := Validate(got, ""); ps != nil || got.Type != TypeComplaintReceived {
		t.Errorf("complaint.filed upcast: %+v %v", got, ps)
	}
}

func TestUpcastFailures(t *testing.T) {
	r := toyRegistry(t)
	if err := r.RegisterUpcaster(v0ComplaintSchema, v0ToV1); err == nil {
		t.Errorf("registered a version twice")
	}
	if err := r.RegisterUpcaster("", v0ToV1); err == nil {
		t.Errorf("registered an empty key")
	}
	if err := r.RegisterUpcaster("x", nil); err == nil {
		t.Errorf("registered a nil upcaster")
	}

	broken := v0Complaint()
	broken.Data = json.RawMessage(`{"qudao":"12315"}`)
	if _, err := r.Upcast(broken); err == nil || !strings.Contains(err.Error(), "without bianhao") {
		t.Errorf("upcaster error lost: %v", err)
	}

	var stuck UpcasterRegistry
	_ = stuck.RegisterUpcaster("a.b", func(ev Event) (Event, error) { return ev, nil })
	if _, err := stuck.Upcast(Event{Type: "a.b"}); err == nil || !strings.Contains(err.Error(), "did not change") {
		t.Errorf("an upcaster that keeps the version was accepted")
	}

	var cycle UpcasterRegistry
	_ = cycle.RegisterUpcaster("x.v1", func(ev Event) (Event, error) { ev.DataSchema = "x.v2"; return ev, nil })
	_ = cycle.RegisterUpcaster("x.v2", func(ev Event) (Event, error) { ev.DataSchema = "x.v1"; return ev, nil })
	if _, err := cycle.Upcast(Event{DataSchema: "x.v1"}); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("cycle not detected: %v", err)
	}
}

func TestUpcastConcurrent(t *testing.T) {
	r := toyRegistry(t)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				if _, err := r.Upcast(v0Complaint()); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	_ = r.RegisterUpcaster("late.type", filedToV0) // registration racing reads is safe too
	wg.Wait()
}

func TestWithDataSchema(t *testing.T) {
	ev := WithDataSchema(Example(TypeCreditListed))
	if ev.DataSchema != SchemaURI(TypeCreditListed) || VersionKey(ev) != ev.DataSchema {
		t.Errorf("WithDataSchema: %q", ev.DataSchema)
	}
	if ps := Validate(ev, ""); ps != nil {
		t.Errorf("stamped event invalid: %v", ps)
	}
	old := v0Complaint()
	if WithDataSchema(old).DataSchema != v0ComplaintSchema {
		t.Errorf("WithDataSchema overwrote a version")
	}
	if WithDataSchema(Event{Type: "x"}).DataSchema != "" || VersionKey(Event{Type: "x"}) != "x" {
		t.Errorf("unknown type stamped")
	}
}
