package store

// Item is one thing the shop sells.
type Item struct {
	Name  string
	Price int
}

// Store keeps items; it embeds Base.
type Store struct {
	Base
	items []Item
}

// NewStore is the constructor.
func NewStore(name string) *Store {
	return &Store{Base: Base{name: name}}
}

func (s *Store) Add(it Item) {
	s.items = append(s.items, it)
	s.Log("added " + it.Name)
	s.count()
}

func (s Store) Total() int {
	total := 0
	for _, it := range s.items {
		total += price(it)
	}
	return total
}
