package main

import (
	"fmt"

	pay "example.com/shop/payment"
	"example.com/shop/store"
)

func main() {
	s := store.NewStore("corner")
	s.Add(store.Item{Name: "tea", Price: 3})
	s.Log("opened")
	w := pay.NewWallet()
	checkout(w, s.Total())
	checkout(pay.Card{Number: "4242"}, 1)
	pay.Card{}.Pay(2)
	report(s)
	fmt.Println("done")
	lookup("tea")()
}

func checkout(m pay.Method, amount int) {
	if err := m.Pay(amount); err != nil {
		fmt.Println(m.Name(), err.Error())
	}
}
