package demo_test

import (
	"fmt"

	"github.com/lizhou/fangxin/demo"
	"github.com/lizhou/fangxin/events"
)

func ExampleGenerate() {
	d := demo.Generate(demo.Config{Merchants: 50, Events: 600, Days: 30})
	fmt.Println(len(d.Merchants), "merchants,", len(d.Events), "events")
	fmt.Println(d.Merchants[0].Name, d.Merchants[0].TownshipName, d.Merchants[0].Industry)
	fmt.Println(d.Events[0].ID, d.Events[0].Type)
	for _, batch := range d.Batches(250) {
		fmt.Println("batch of", len(batch), "ending", batch[len(batch)-1].Time.Format("2006-01-02"))
	}
	valid := 0
	for _, ev := range d.Events {
		if events.Validate(ev, ev.Bureau()) == nil {
			valid++
		}
	}
	fmt.Println(valid, "valid")
	// Output:
	// 50 merchants, 600 events
	// 利州区嘉陵街道老张火锅店 嘉陵街道 H6210
	// amr-reg-000001 merchant.registered
	// batch of 250 ending 2025-12-15
	// batch of 250 ending 2025-12-25
	// batch of 100 ending 2025-12-30
	// 600 valid
}
