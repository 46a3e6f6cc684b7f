package store

func (s *Store) count() int {
	return len(s.items)
}

func price(it Item) int {
	return it.Price
}
