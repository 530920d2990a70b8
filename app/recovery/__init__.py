"""Records that outlive their database: files that describe themselves, tombstones for deletions, and the
rebuild that turns what the stores hold back into records."""
