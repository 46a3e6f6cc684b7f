package store

import "fmt"

// Base is embedded by Store and by payment.Wallet: its methods are promoted.
type Base struct {
	name string
}

func (b *Base) Log(msg string) {
	fmt.Println(b.name, msg)
}
