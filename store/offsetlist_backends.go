package store

import "context"

func (s *badgerStore) ApplicationsPage(ctx context.Context, q ListQuery) ([]*Application, int, error) {
	return applicationsPage(ctx, s, q)
}

func (s *pgStore) ApplicationsPage(ctx context.Context, q ListQuery) ([]*Application, int, error) {
	return applicationsPage(ctx, s, q)
}

func (s *badgerStore) DocumentsPage(ctx context.Context, c Collection, q ListQuery) ([][]byte, int, error) {
	return documentsPage(ctx, s, c, q)
}

func (s *pgStore) DocumentsPage(ctx context.Context, c Collection, q ListQuery) ([][]byte, int, error) {
	return documentsPage(ctx, s, c, q)
}

func applicationsPage(ctx context.Context, s Store, q ListQuery) ([]*Application, int, error) {
	all, err := s.ListApplications(ctx)
	if err != nil {
		return nil, 0, err
	}
	page, total := pageItems(all, appFields, q)
	return page, total, nil
}

func documentsPage(ctx context.Context, s Store, c Collection, q ListQuery) ([][]byte, int, error) {
	all, err := s.List(ctx, c)
	if err != nil {
		return nil, 0, err
	}
	page, total := pageItems(all, docFields, q)
	return page, total, nil
}

// EventsPage walks the matching events newest first through Events' pages, keeping the page
// asked for and counting up to MaxEventCount: neither the journal nor Badger counts by index.
func (s *badgerStore) EventsPage(ctx context.Context, q EventQuery, page, size int) (EventPage, error) {
	page, size = pageBounds(page, size)
	from := (page - 1) * size
	var out EventPage
	q.Start, q.Size = "", 100
	for {
		evs, next, err := s.Events(ctx, q)
		if err != nil {
			return EventPage{}, err
		}
		for _, ev := range evs {
			if out.Total >= from && len(out.Events) < size {
				out.Events = append(out.Events, ev)
			}
			out.Total++
		}
		if next == "" {
			out.TotalExact = true
			return out, nil
		}
		if out.Total >= MaxEventCount && len(out.Events) == size {
			return out, nil
		}
		q.Start = next
	}
}
