package payment

import "example.com/shop/store"

// Wallet pays from a balance; it embeds a type of another package.
type Wallet struct {
	*store.Base
	balance int
}

// NewWallet is a constructor returning *Wallet.
func NewWallet() *Wallet {
	return &Wallet{Base: &store.Base{}}
}

func (w *Wallet) Name() string { return "wallet" }

func (w *Wallet) Pay(amount int) error {
	w.Log("paying")
	w.balance -= amount
	return nil
}
