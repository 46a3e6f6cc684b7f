package payment

import (
	"errors"
	"strings"
)

// Namer is embedded by Method.
type Namer interface {
	Name() string
}

// Method is a way to pay; Card and Wallet implement it.
type Method interface {
	Namer
	Pay(amount int) error
}

// Card pays by card (value receivers).
type Card struct{ Number string }

func (c Card) Name() string { return "card " + strings.ToUpper(c.Number) }

func (c Card) Pay(amount int) error {
	if amount <= 0 {
		return errors.New("nothing to pay")
	}
	return nil
}
