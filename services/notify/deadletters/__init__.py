"""Dead letters: events a consumer could not handle, shown and retried by an admin."""
