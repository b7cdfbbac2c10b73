"""The global random generator every random op and initializer draws from (being written)."""
