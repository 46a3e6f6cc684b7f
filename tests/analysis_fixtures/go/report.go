package main

import (
	"fmt"

	pay "example.com/shop/payment"
	"example.com/shop/store"
)

var registry = map[string]func(){}

// Till holds a payment method in a field of interface type.
type Till struct {
	method pay.Method
}

func (t *Till) Charge(n int) {
	t.method.Pay(n)
}

func report(s *store.Store) {
	fmt.Printf("total %d\n", s.Total())
	var b store.Base
	b.Log("report")
	(&store.Store{}).Add(store.Item{})
	store.NewStore("x").Add(store.Item{})
	helper := fmt.Sprint
	helper(s)
}

func lookup(name string) func() {
	_ = int64(len(name))
	return registry[name]
}
